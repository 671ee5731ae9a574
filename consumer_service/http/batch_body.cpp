#include "consumer_service/http/batch_body.h"

#include <nlohmann/json.hpp>

namespace saldo {
namespace {

constexpr std::string_view kNotAList = "corpo inválido: esperada uma lista JSON de ids, por exemplo [\"1\",\"2\"]";

// Reads the array's elements one by one: a list, object, null, boolean or fraction at any position
// ends the parse there (no depth to limit: nothing below the top-level list is accepted).
class BatchSax final : public nlohmann::json_sax<nlohmann::json> {
 public:
  BatchSax(BatchBody& out, std::size_t max_ids) : out_(out), max_ids_(max_ids) {}

  bool null() override { return not_an_id(); }
  bool boolean(bool) override { return not_an_id(); }
  bool number_integer(number_integer_t v) override { return id(std::to_string(v)); }
  bool number_unsigned(number_unsigned_t v) override { return id(std::to_string(v)); }
  bool number_float(number_float_t, const string_t&) override { return not_an_id(); }
  bool string(string_t& s) override { return id(std::move(s)); }
  bool binary(binary_t&) override { return not_an_id(); }
  bool start_object(std::size_t) override { return not_an_id(); }
  bool key(string_t&) override { return not_an_id(); }
  bool end_object() override { return not_an_id(); }
  bool start_array(std::size_t) override {
    if (in_list_) return not_an_id();
    in_list_ = true;
    return true;
  }
  bool end_array() override { return true; }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception&) override {
    if (!in_list_) return refuse(400, std::string(kNotAList));
    // e.g. a number past a double's range (1e309), or text cut short.
    return refuse(400, "corpo inválido: JSON malformado no byte " + std::to_string(position) + " (elemento " +
                           std::to_string(out_.ids.size() + 1) + " da lista)");
  }

 private:
  bool id(std::string text) {
    if (!in_list_) return refuse(400, std::string(kNotAList));
    if (out_.ids.size() == max_ids_) {
      return refuse(413, "no máximo " + std::to_string(max_ids_) + " ids por requisição");
    }
    out_.ids.push_back(std::move(text));
    return true;
  }
  bool not_an_id() {
    if (!in_list_) return refuse(400, std::string(kNotAList));
    return refuse(400, "elemento " + std::to_string(out_.ids.size() + 1) +
                           " da lista não é um id: use texto ou inteiro, por exemplo [\"1\",2]");
  }
  bool refuse(int status, std::string why) {
    if (out_.status == 200) {
      out_.status = status;
      out_.error = std::move(why);
    }
    return false;
  }

  BatchBody& out_;
  std::size_t max_ids_;
  bool in_list_ = false;
};

}  // namespace

BatchBody parse_batch_body(std::string_view body, std::size_t max_ids) {
  BatchBody out;
  BatchSax sax(out, max_ids);
  const bool ok = nlohmann::json::sax_parse(body, &sax);
  if (!ok && out.status == 200) {
    out.status = 400;
    out.error = std::string(kNotAList);
  }
  if (out.status != 200) out.ids.clear();
  return out;
}

}  // namespace saldo
