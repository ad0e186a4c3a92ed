// broker-config/progress-user: the only way accounts are made, so the only
// place a username with '/' (which defeats %u ACL patterns) can be stopped.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "mosquitto_broker.hpp"
#include "temp_dir.hpp"

using namespace progress::test;

namespace {

struct result {
  int exit_code;
  std::string output;
};

result run_script(const std::string& arguments) {
  const auto script = mosquitto_broker::broker_config_dir() / "progress-user";
  const std::string command = "'" + script.string() + "' " + arguments + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, {}};
  std::string output;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class progress_user : public ::testing::Test {
 protected:
  [[nodiscard]] std::string passwd() const { return "'" + (directory_ / "passwd").string() + "'"; }

  const temp_dir directory_{"progress-user"};
};

}  // namespace

TEST_F(progress_user, creates_accounts_with_given_or_generated_passwords) {
  ASSERT_EQ(run_script("add " + passwd() + " alice alice-pw").exit_code, 0);
  const auto generated = run_script("add " + passwd() + " worker.eu-1");
  ASSERT_EQ(generated.exit_code, 0);
  EXPECT_GE(generated.output.size(), 16u);  // the generated password is printed once
  const auto file = read_file(directory_ / "passwd");
  EXPECT_NE(file.find("alice:$7$"), std::string::npos);
  EXPECT_NE(file.find("worker.eu-1:$7$"), std::string::npos);
  EXPECT_EQ(file.find("alice-pw"), std::string::npos);  // stored hashed, never in clear
}

TEST_F(progress_user, refuses_usernames_that_would_escape_acl_patterns) {
  ASSERT_EQ(run_script("add " + passwd() + " alice alice-pw").exit_code, 0);
  const auto before = read_file(directory_ / "passwd");
  for (const std::string& name :
       std::vector<std::string>{"eve/x", "'users/bob'", "'+'", "'#'", "'a b'", "''", std::string(129, 'a'),
                                ".", "..", "...", std::string(128, '.')}) {
    const auto result = run_script("add " + passwd() + " " + name + " pw");
    EXPECT_EQ(result.exit_code, 1) << name;
    EXPECT_NE(result.output.find("refused username"), std::string::npos) << result.output;
  }
  EXPECT_EQ(read_file(directory_ / "passwd"), before);
  EXPECT_EQ(run_script("check eve/x").exit_code, 1);
  EXPECT_EQ(run_script("check alice").exit_code, 0);
  EXPECT_EQ(run_script("check ..").exit_code, 1);
  EXPECT_EQ(run_script("check .a.").exit_code, 0);
}
