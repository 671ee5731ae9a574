#pragma once
// The lines of an import file, read in large blocks: each line is a view into the reader's buffer
// (without its '\n'), valid until the next call. No copy and no allocation per line.
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace saldo {

class LineReader {
 public:
  // Throws std::runtime_error when the file cannot be opened.
  explicit LineReader(const std::string& path);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The next line, or nullopt after the last one (a last line without '\n' is still a line).
  // Throws std::runtime_error on a read error.
  std::optional<std::string_view> next();

 private:
  std::FILE* file_;
  std::vector<char> buf_;
  std::size_t begin_ = 0, end_ = 0;  // unread bytes
  bool eof_ = false;
};

}  // namespace saldo
