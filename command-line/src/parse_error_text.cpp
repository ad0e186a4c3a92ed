#include "progress/command_line/parse_error_text.hpp"

#include <algorithm>
#include <vector>

namespace progress::command_line {
namespace {

bool is_option_name(std::string_view arg) {
  return arg.size() > 1 && arg.front() == '-';
}

std::string_view name_of(std::string_view arg) {
  return arg.substr(0, arg.find('='));
}

// The values given to secret options on this command line.
std::vector<std::string> secret_values(int argc, const char* const* argv,
                                       std::initializer_list<std::string_view> secret_options) {
  std::vector<std::string> values;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const auto name = name_of(arg);
    if (std::find(secret_options.begin(), secret_options.end(), name) == secret_options.end()) continue;
    if (name.size() < arg.size()) {
      values.emplace_back(arg.substr(name.size() + 1));
    } else if (i + 1 < argc) {
      values.emplace_back(argv[i + 1]);
    }
  }
  return values;
}

void hide(std::string& text, const std::string& value) {
  if (value.empty()) return;
  for (auto at = text.find(value); at != std::string::npos; at = text.find(value, at + 3)) {
    text.replace(at, value.size(), "***");
  }
}

// "unknown option --pasword": names only, since everything after an unknown
// option may be its value.
std::string unexpected_arguments(const CLI::App& app) {
  std::string names;
  std::size_t values = 0;
  for (const auto& arg : app.remaining(/*recurse=*/true)) {
    if (!is_option_name(arg)) {
      ++values;
      continue;
    }
    names += names.empty() ? "" : ", ";
    names += name_of(arg);
  }
  std::string text = names.empty() ? "unexpected argument" : "unknown option " + names;
  if (values == 1) text += " (1 more argument, not shown)";
  if (values > 1) text += " (" + std::to_string(values) + " more arguments, not shown)";
  return text;
}

}  // namespace

std::string parse_error_text(const CLI::App& app, const CLI::ParseError& error, int argc,
                             const char* const* argv,
                             std::initializer_list<std::string_view> secret_options) {
  std::string text;
  if (dynamic_cast<const CLI::ExtrasError*>(&error) != nullptr) {
    text = unexpected_arguments(app);
  } else {
    text = error.what();
    for (const auto& value : secret_values(argc, argv, secret_options)) hide(text, value);
  }
  return app.get_name() + ": " + text + "\nRun with --help for the options.\n";
}

}  // namespace progress::command_line
