#pragma once
// The text of a command-line error, safe to print: CLI11's own messages echo
// the arguments they did not expect, and the word after a mistyped
// `--pasword` is the password.

#include <initializer_list>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

namespace progress::command_line {

// What to print for `error` (a failed `app.parse(argc, argv)`) instead of
// CLI11's message: unexpected arguments are named only when they are option
// names (`--pasword`, never a value or the part after `=`), and the value of
// every option in `secret_options` (`--password x`, `--password=x`) is shown
// as `***`. Ends with a newline.
[[nodiscard]] std::string parse_error_text(const CLI::App& app, const CLI::ParseError& error, int argc,
                                           const char* const* argv,
                                           std::initializer_list<std::string_view> secret_options);

}  // namespace progress::command_line
