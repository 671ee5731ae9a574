#include "producer/line_reader.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace saldo {

namespace {
constexpr std::size_t kBlock = 1 << 20;
}

LineReader::LineReader(const std::string& path) : file_(std::fopen(path.c_str(), "rb")), buf_(kBlock) {
  if (file_ == nullptr) throw std::runtime_error("cannot read " + path + ": " + std::strerror(errno));
}

LineReader::~LineReader() { std::fclose(file_); }

std::optional<std::string_view> LineReader::next() {
  for (;;) {
    if (const void* nl = std::memchr(buf_.data() + begin_, '\n', end_ - begin_)) {
      const std::size_t at = static_cast<std::size_t>(static_cast<const char*>(nl) - buf_.data());
      const std::string_view line(buf_.data() + begin_, at - begin_);
      begin_ = at + 1;
      return line;
    }
    if (eof_) {
      if (begin_ == end_) return std::nullopt;
      const std::string_view last(buf_.data() + begin_, end_ - begin_);
      begin_ = end_;
      return last;
    }
    // Keep the partial line at the front; a line longer than the buffer doubles it.
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
    if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);
    const std::size_t n = std::fread(buf_.data() + end_, 1, buf_.size() - end_, file_);
    if (n == 0) {
      if (std::ferror(file_)) throw std::runtime_error(std::string("read error: ") + std::strerror(errno));
      eof_ = true;
    }
    end_ += n;
  }
}

}  // namespace saldo
