#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "producer/input_file.h"
#include "producer/line_reader.h"
#include "producer/load_generator.h"
#include "producer/page_link.h"
#include "producer/presets.h"
#include "producer/prompt_line.h"
#include "producer/send_timeout.h"

namespace saldo {
namespace {

std::string value_of(const KeyValues& kv, const std::string& name) {
  std::string v = "<unset>";
  for (const auto& [k, val] : kv) {
    if (k == name) v = val;  // the last one wins, as librdkafka applies them in order
  }
  return v;
}

TEST(Presets, EveryPresetKeepsTheSafetyAndThePartitioner) {
  for (Preset p : {Preset::kReliable, Preset::kFast, Preset::kEventByEvent}) {
    KeyValues kv = preset_properties(p);
    EXPECT_EQ(value_of(kv, "partitioner"), "murmur2_random") << to_string(p);
    EXPECT_EQ(value_of(kv, "enable.idempotence"), "true") << to_string(p);
    EXPECT_EQ(value_of(kv, "acks"), "all") << to_string(p);
    EXPECT_EQ(parse_preset(to_string(p)), p);
  }
  EXPECT_EQ(value_of(preset_properties(Preset::kReliable), "linger.ms"), "5");
  EXPECT_EQ(value_of(preset_properties(Preset::kReliable), "compression.type"), "lz4");
  EXPECT_EQ(value_of(preset_properties(Preset::kFast), "linger.ms"), "100");
  EXPECT_EQ(value_of(preset_properties(Preset::kEventByEvent), "linger.ms"), "0");
  EXPECT_EQ(parse_preset("turbo"), std::nullopt);
}

TEST(LoadGenerator, SameSeedSameSequence) {
  LoadSpec spec{100, 1000, 7};
  LoadGenerator a(spec), b(spec);
  LoadGenerator c(LoadSpec{100, 1000, 8});
  bool differs = false;
  while (!a.done()) {
    GeneratedUpdate x = a.next(), y = b.next(), z = c.next();
    EXPECT_EQ(x.cliente_id, y.cliente_id);
    EXPECT_EQ(x.saldo, y.saldo);
    differs = differs || x.saldo != z.saldo;
  }
  EXPECT_TRUE(b.next().cliente_id.size() > 0);
  EXPECT_TRUE(differs);
  EXPECT_EQ(a.produced(), 1000u);
}

TEST(LoadGenerator, EveryCustomerFirstThenRandomWithinBounds) {
  LoadGenerator g(LoadSpec{50, 500, 1});
  std::set<std::string> ids;
  int negative = 0;
  for (int i = 0; i < 50; ++i) {
    GeneratedUpdate u = g.next();
    EXPECT_EQ(u.cliente_id, std::to_string(i + 1));
  }
  while (!g.done()) {
    GeneratedUpdate u = g.next();
    ids.insert(u.cliente_id);
    EXPECT_LE(u.saldo, 10'000'000);
    EXPECT_GE(u.saldo, -10'000'000);
    negative += u.saldo < 0;
  }
  EXPECT_GT(ids.size(), 40u);
  EXPECT_LE(ids.size(), 50u);
  EXPECT_GT(negative, 0);
  EXPECT_LT(negative, 100);
}

TEST(LoadGenerator, ZeroUpdatesIsUnlimited) {
  LoadGenerator g(LoadSpec{3, 0, 1});
  for (int i = 0; i < 10000; ++i) g.next();
  EXPECT_FALSE(g.done());
}

BalanceUpdate good(std::string_view line) {
  InputLine r = parse_input_line(line);
  if (auto* bad = std::get_if<BadLine>(&r)) ADD_FAILURE() << line << ": " << bad->reason;
  if (!std::holds_alternative<BalanceUpdate>(r)) return {};
  return std::get<BalanceUpdate>(r);
}

std::string bad(std::string_view line) {
  InputLine r = parse_input_line(line);
  EXPECT_TRUE(std::holds_alternative<BadLine>(r)) << line;
  return std::holds_alternative<BadLine>(r) ? std::get<BadLine>(r).reason : "";
}

bool skipped(std::string_view line) { return std::holds_alternative<SkippedLine>(parse_input_line(line)); }

TEST(InputFile, Csv) {
  EXPECT_EQ(good("1,150"), (BalanceUpdate{"1", 15000, ""}));
  EXPECT_EQ(good(" 42 , -12.5 \r"), (BalanceUpdate{"42", -1250, ""}));
  EXPECT_EQ(good("a.b,0.1,2025-10-14T10:30:45"), (BalanceUpdate{"a.b", 10, "2025-10-14T10:30:45"}));
  EXPECT_EQ(good("\"7\",\"1e2\""), (BalanceUpdate{"7", 10000, ""}));
  EXPECT_TRUE(skipped("cliente_id,saldo"));
  EXPECT_TRUE(skipped("cliente_id,saldo,timestamp"));
  EXPECT_TRUE(skipped(""));
  EXPECT_TRUE(skipped("   "));
  EXPECT_TRUE(skipped("# a comment"));
  EXPECT_NE(bad("1").find("fields"), std::string::npos);
  EXPECT_NE(bad("1,2,3,4").find("fields"), std::string::npos);
  EXPECT_NE(bad("bad id,1").find("cliente_id"), std::string::npos);
  EXPECT_NE(bad("1,1.234").find("decimal"), std::string::npos);
  EXPECT_NE(bad("1,1,yesterday").find("timestamp"), std::string::npos);
  EXPECT_NE(bad("1,").find("saldo"), std::string::npos);
  EXPECT_NE(bad("\"1,2").find("quote"), std::string::npos);
}

TEST(InputFile, JsonLines) {
  EXPECT_EQ(good(R"({"cliente_id":"1","saldo":150.0})"), (BalanceUpdate{"1", 15000, ""}));
  EXPECT_EQ(good(R"({"cliente_id":"1","saldo":150})"), (BalanceUpdate{"1", 15000, ""}));
  EXPECT_EQ(good(R"({"cliente_id":"1","saldo":-3})"), (BalanceUpdate{"1", -300, ""}));
  EXPECT_EQ(good(R"({"cliente_id":"1","saldo":"0.1"})"), (BalanceUpdate{"1", 10, ""}));
  EXPECT_EQ(good(R"({"cliente_id":"1","saldo":1.5e1})"), (BalanceUpdate{"1", 1500, ""}));
  EXPECT_EQ(good(R"({"saldo":0.07,"x":[1,{"saldo":5}],"cliente_id":"z","timestamp":"2025-10-14T10:30:45Z"})"),
            (BalanceUpdate{"z", 7, "2025-10-14T10:30:45Z"}));
  EXPECT_NE(bad(R"({"cliente_id":"1","saldo":1.001})").find("decimal"), std::string::npos);
  EXPECT_NE(bad(R"({"cliente_id":"1","saldo":99999999999999999999999})").find("range"), std::string::npos);
  EXPECT_NE(bad(R"({"cliente_id":1,"saldo":1})").find("cliente_id"), std::string::npos);
  EXPECT_NE(bad(R"({"cliente_id":"1","saldo":null})").find("saldo"), std::string::npos);
  EXPECT_NE(bad(R"({"cliente_id":"1"})").find("missing saldo"), std::string::npos);
  EXPECT_NE(bad(R"({"saldo":1})").find("missing cliente_id"), std::string::npos);
  EXPECT_NE(bad(R"({"cliente_id":"1","saldo":1)").find("JSON"), std::string::npos);
  EXPECT_NE(bad(R"([1,2])").find("object"), std::string::npos);
  EXPECT_NE(bad("{\"cliente_id\":\"1\xff\",\"saldo\":1}").find("JSON"), std::string::npos);
  EXPECT_NE(bad(R"({"cliente_id":"1","saldo":1,"timestamp":"yesterday"})").find("timestamp"), std::string::npos);
  EXPECT_NE(bad(R"({"cliente_id":"1","timestamp":"2025-10-14T10:30:45"})").find("missing saldo"), std::string::npos);
  EXPECT_NE(bad(R"({})").find("missing cliente_id"), std::string::npos);
}

// The line is judged by the service's decoder: what the service would reject is rejected here.
TEST(InputFile, JsonLinesFollowTheWireFormatsStrictRules) {
  EXPECT_NE(bad(R"({"cliente_id":"1","saldo":1,"saldo":2})").find("twice"), std::string::npos);
  EXPECT_NE(bad(R"({"cliente_id":"1","cliente_id":"2","saldo":1})").find("twice"), std::string::npos);
  EXPECT_NE(bad(R"({"cliente_id":"1","saldo":1,"timestamp":"2025-10-14T10:30:45","timestamp":"x"})").find("twice"),
            std::string::npos);
  EXPECT_NE(bad(R"({"cliente_id":"1","saldo":1} x)").find("JSON"), std::string::npos);
  EXPECT_NE(bad(R"({"cliente_id":"bad id","saldo":1})").find("invalid cliente_id"), std::string::npos);
  // A nested "cliente_id" is not the line's id; an escaped id is still the id it spells.
  EXPECT_EQ(good(R"({"x":{"cliente_id":"9"},"cliente_id":"1","saldo":2})"), (BalanceUpdate{"1", 200, ""}));
  EXPECT_EQ(good(R"({"cliente_id":"\u0030","saldo":2})"), (BalanceUpdate{"0", 200, ""}));
  EXPECT_EQ(good(R"( {"timestamp":"2025-10-14 10:30:45","saldo":"2.5","cliente_id":"a"} )"),
            (BalanceUpdate{"a", 250, "2025-10-14 10:30:45"}));
}

// The file path reuses one update for every line: nothing of a line may leak into the next.
TEST(InputFile, AReusedUpdateTakesEachLineWholeWhateverTheLineBefore) {
  BalanceUpdate u;
  std::string reason;
  ASSERT_EQ(parse_input_line(R"({"cliente_id":"1","saldo":1,"timestamp":"2025-10-14T10:30:45"})", u, reason),
            LineKind::kUpdate);
  EXPECT_EQ(u, (BalanceUpdate{"1", 100, "2025-10-14T10:30:45"}));
  ASSERT_EQ(parse_input_line(R"({"cliente_id":"22","saldo":2})", u, reason), LineKind::kUpdate);
  EXPECT_EQ(u, (BalanceUpdate{"22", 200, ""}));  // no timestamp left over: the sender stamps it
  EXPECT_EQ(parse_input_line(R"({"cliente_id":"3","saldo":1.001})", u, reason), LineKind::kBad);
  EXPECT_NE(reason.find("decimal"), std::string::npos) << reason;
  EXPECT_EQ(parse_input_line("# comment", u, reason), LineKind::kSkipped);
  ASSERT_EQ(parse_input_line("4,4.5,2025-10-14T10:30:46", u, reason), LineKind::kUpdate);
  EXPECT_EQ(u, (BalanceUpdate{"4", 450, "2025-10-14T10:30:46"}));
}

class TempFile {
 public:
  explicit TempFile(const std::string& content)
      : path_((std::filesystem::temp_directory_path() / ("saldo-lines-" + std::to_string(::getpid()) + "-" +
                                                         std::to_string(counter_++)))
                  .string()) {
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  const std::string& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::string path_;
};

std::vector<std::string> all_lines(const std::string& path) {
  LineReader reader(path);
  std::vector<std::string> out;
  while (const auto line = reader.next()) out.emplace_back(*line);
  return out;
}

TEST(LineReader, SplitsAtNewlinesKeepsALastLineWithoutOneAndGrowsForLongLines) {
  const std::string long_line(3 * (1 << 20) + 17, 'x');  // past the 1 MiB block, twice
  const TempFile file("a\r\n\n" + long_line + "\nlast");
  EXPECT_EQ(all_lines(file.path()), (std::vector<std::string>{"a\r", "", long_line, "last"}));
  const TempFile ends_with_newline("1,1\n2,2\n");
  EXPECT_EQ(all_lines(ends_with_newline.path()), (std::vector<std::string>{"1,1", "2,2"}));
  const TempFile empty("");
  EXPECT_TRUE(all_lines(empty.path()).empty());
  EXPECT_THROW(LineReader("/nonexistent/saldo-lines"), std::runtime_error);
}

po::variables_map timeout_args(std::vector<const char*> args) {
  ConfigLoader loader("prog", "usage");
  add_timeout_option(loader, "seconds");
  args.insert(args.begin(), "prog");
  return *loader.parse(static_cast<int>(args.size()), args.data());
}

TEST(SendTimeout, SecondsInRange) {
  EXPECT_EQ(timeout_option(timeout_args({})), std::chrono::milliseconds(30000));
  EXPECT_EQ(timeout_option(timeout_args({"--timeout", "0.25"})), std::chrono::milliseconds(250));
  EXPECT_THROW(timeout_option(timeout_args({"--timeout", "0"})), ConfigError);
  EXPECT_THROW(timeout_option(timeout_args({"--timeout", "3601"})), ConfigError);
  EXPECT_THROW(timeout_option(timeout_args({"--timeout", "nan"})), ConfigError);
}

TEST(PageLink, ShowsTheCustomerOnceItsWriteIsApplied) {
  EXPECT_EQ(page_link("http://localhost:5000/", "42", 2, 1534), "http://localhost:5000/?id=42&after=2:1534");
  EXPECT_EQ(page_link("https://saldo.example", "a.b-c_d", 0, 0), "https://saldo.example/?id=a.b-c_d&after=0:0");
  EXPECT_EQ(page_link("", "42", 2, 1534), "");
}

}  // namespace
}  // namespace saldo

namespace saldo {
namespace {

// A person who changes their mind at "saldo>" is never stuck: the commands work there too, and an
// empty line goes back to the id.
TEST(PromptLine, CommandsWorkAtEveryPrompt) {
  using Kind = PromptLine::Kind;
  for (const PromptAt at : {PromptAt::kId, PromptAt::kAmount}) {
    EXPECT_EQ(parse_prompt_line("quit", at, "7").kind, Kind::kQuit);
    EXPECT_EQ(parse_prompt_line("  q ", at, "7").kind, Kind::kQuit);
    EXPECT_EQ(parse_prompt_line("help", at, "7").kind, Kind::kHelp);
    EXPECT_EQ(parse_prompt_line("", at, "7").kind, Kind::kNothing);
    const PromptLine del = parse_prompt_line("del 42", at, "7");
    EXPECT_EQ(del.kind, Kind::kDelete);
    EXPECT_EQ(del.id, "42");
    EXPECT_EQ(parse_prompt_line("del", at, "7").kind, Kind::kInvalid);
    EXPECT_EQ(parse_prompt_line("del !!", at, "7").kind, Kind::kInvalid);
  }
  const PromptLine amount = parse_prompt_line("150", PromptAt::kAmount, "7");
  EXPECT_EQ(amount.kind, Kind::kUpdate);
  EXPECT_EQ(amount.id, "7");
  EXPECT_EQ(amount.amount, 15000);
  EXPECT_EQ(parse_prompt_line("1.234", PromptAt::kAmount, "7").kind, Kind::kInvalid);
}

TEST(PromptLine, IdPromptTakesAnIdOrAnIdAndItsBalance) {
  using Kind = PromptLine::Kind;
  const PromptLine id = parse_prompt_line("150", PromptAt::kId);
  EXPECT_EQ(id.kind, Kind::kId);  // at the id prompt a number is an id
  EXPECT_EQ(id.id, "150");
  const PromptLine both = parse_prompt_line("12 -3,5", PromptAt::kId);
  EXPECT_EQ(both.kind, Kind::kUpdate);
  EXPECT_EQ(both.id, "12");
  EXPECT_EQ(both.amount, -350);
  EXPECT_EQ(parse_prompt_line("bad id x", PromptAt::kId).kind, Kind::kInvalid);
  const PromptLine bad = parse_prompt_line("!!", PromptAt::kId);
  EXPECT_EQ(bad.kind, Kind::kInvalid);
  EXPECT_EQ(bad.error, "invalid cliente_id '!!': use 1 to 64 of [A-Za-z0-9._-]");
}

// What a Brazilian user types: a single comma with no dot is the decimal separator.
TEST(PromptLine, ASingleCommaIsTheDecimalSeparator) {
  std::string why;
  EXPECT_EQ(parse_typed_amount("12,50", &why), 1250);
  EXPECT_EQ(parse_typed_amount("-0,07", &why), -7);
  EXPECT_EQ(parse_typed_amount("12.50", &why), 1250);
  EXPECT_EQ(parse_typed_amount("1,5", &why), 150);
  for (const char* text : {"1.234,50", "1,234,50", "12,505", "", "abc"}) {
    EXPECT_FALSE(parse_typed_amount(text, &why).has_value()) << text;
    EXPECT_NE(why.find(std::string("'") + text + "'"), std::string::npos) << why;
  }
}

}  // namespace
}  // namespace saldo
