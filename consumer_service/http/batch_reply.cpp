#include "consumer_service/http/batch_reply.h"

#include <nlohmann/json.hpp>

namespace saldo {
namespace {

// A scanner over text nlohmann::json::accept() already found valid: it only needs to find where
// each value ends.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}
  void skip_space() {
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\t' || text_[at_] == '\n' || text_[at_] == '\r')) {
      ++at_;
    }
  }
  char peek() {
    skip_space();
    return at_ < text_.size() ? text_[at_] : '\0';
  }
  void take() { ++at_; }
  std::size_t at() const { return at_; }
  std::string_view slice(std::size_t from, std::size_t to) const { return text_.substr(from, to - from); }
  // At '"': past the closing quote.
  void skip_string() {
    ++at_;
    while (at_ < text_.size() && text_[at_] != '"') at_ += text_[at_] == '\\' ? 2 : 1;
    ++at_;
  }
  void skip_value() {
    skip_space();
    if (at_ >= text_.size()) return;
    if (text_[at_] == '"') return skip_string();
    if (text_[at_] == '{' || text_[at_] == '[') {
      int depth = 0;
      do {
        const char c = text_[at_];
        if (c == '"') {
          skip_string();
          continue;
        }
        if (c == '{' || c == '[') ++depth;
        if (c == '}' || c == ']') --depth;
        ++at_;
      } while (depth > 0 && at_ < text_.size());
      return;
    }
    while (at_ < text_.size() && text_[at_] != ',' && text_[at_] != '}' && text_[at_] != ']' && text_[at_] != ' ' &&
           text_[at_] != '\n' && text_[at_] != '\r' && text_[at_] != '\t') {
      ++at_;
    }
  }

 private:
  std::string_view text_;
  std::size_t at_ = 0;
};

std::optional<BatchCategory> category_of(std::string_view key) {
  if (key == "found") return BatchCategory::kFound;
  if (key == "not_found") return BatchCategory::kNotFound;
  if (key == "invalid") return BatchCategory::kInvalid;
  if (key == "unavailable") return BatchCategory::kUnavailable;
  return std::nullopt;
}

}  // namespace

std::optional<std::unordered_map<std::string, BatchEntry>> parse_batch_reply(std::string_view body) {
  if (!nlohmann::json::accept(body)) return std::nullopt;
  Scanner s(body);
  if (s.peek() != '{') return std::nullopt;
  s.take();
  std::unordered_map<std::string, BatchEntry> out;
  bool any_array = false;
  while (s.peek() == '"') {
    const std::size_t key_from = s.at();
    s.skip_string();
    const std::string key = nlohmann::json::parse(s.slice(key_from, s.at()), nullptr, false).get<std::string>();
    s.peek();
    s.take();  // ':'
    const auto category = category_of(key);
    if (!category) {
      s.skip_value();
    } else {
      if (s.peek() != '[') return std::nullopt;
      any_array = true;
      s.take();
      while (s.peek() != ']') {
        if (s.peek() != '{') return std::nullopt;
        const std::size_t from = s.at();
        s.skip_value();
        std::string text(s.slice(from, s.at()));
        const nlohmann::json element = nlohmann::json::parse(text, nullptr, false);
        const auto id = element.find("cliente_id");
        if (id == element.end() || !id->is_string()) return std::nullopt;
        out.insert_or_assign(id->get<std::string>(), BatchEntry{*category, std::move(text)});
        if (s.peek() == ',') s.take();
      }
      s.take();  // ']'
    }
    if (s.peek() == ',') s.take();
  }
  if (!any_array) return std::nullopt;
  return out;
}

}  // namespace saldo
