// ask_watermarks (common/watermark_query.h) while the broker answers ListOffsets with
// errors, on librdkafka's mock cluster: every answer it gives is the right one, and an error is
// said as an error. rd_kafka_query_watermark_offsets() was seen returning a partition of 119 records
// as [119, 119) under these errors, so the rebuild skipped them (mock_cluster_test).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "common/kafka_handles.h"
#include "common/watermark_query.h"

namespace saldo {
namespace {

constexpr std::int16_t kListOffsets = 2;
constexpr int kPartitions = 3;

KafkaHandle new_client(rd_kafka_type_t type, const std::vector<std::pair<std::string, std::string>>& props) {
  KafkaConf conf(rd_kafka_conf_new());
  for (const auto& [k, v] : props) set_kafka_property(conf.get(), k, v);
  return make_kafka_handle(type, std::move(conf));
}

class WatermarkQueryFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    owner_ = new_client(RD_KAFKA_PRODUCER, {{"log_level", "3"}});
    cluster_ = rd_kafka_mock_cluster_new(owner_.get(), 1);
    ASSERT_NE(cluster_, nullptr);
    const std::string bootstraps = rd_kafka_mock_cluster_bootstraps(cluster_);
    ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, topic_.c_str(), kPartitions, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    const KafkaHandle p = new_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstraps}, {"acks", "all"}});
    for (std::int32_t partition = 0; partition < kPartitions; ++partition) {
      for (int i = 0; i < records(partition); ++i) {
        const std::string key = std::to_string(partition * 1000 + i), value = R"({"saldo":1.00})";
        ASSERT_EQ(rd_kafka_producev(p.get(), RD_KAFKA_V_TOPIC(topic_.c_str()), RD_KAFKA_V_PARTITION(partition),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key.data(), key.size()),
                                    RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()), RD_KAFKA_V_END),
                  RD_KAFKA_RESP_ERR_NO_ERROR);
      }
    }
    ASSERT_EQ(rd_kafka_flush(p.get(), 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
    client_ = new_client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstraps}, {"group.id", "watermark-query-faults"},
                                             {"log_level", "3"}});
  }
  void TearDown() override {
    client_.reset();
    if (cluster_) rd_kafka_mock_cluster_destroy(cluster_);
  }
  static int records(std::int32_t partition) { return 40 * (partition + 1) + 7; }

  KafkaHandle owner_, client_;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string topic_ = "contas";
};

TEST_F(WatermarkQueryFaults, UnderListOffsetsErrorsEveryAnswerIsRightOrAnError) {
  // The errors librdkafka retries (REQUEST_TIMED_OUT, LEADER_NOT_AVAILABLE), the one it only
  // refreshes metadata for (NOT_LEADER_FOR_PARTITION), and one it gives up on (UNKNOWN_TOPIC_OR_PART),
  // one to three at a time, each round after an answer.
  const rd_kafka_resp_err_t kinds[] = {RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
                                       RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                       RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART};
  int answers = 0, errors = 0;
  for (int round = 0; round < 24; ++round) {
    const rd_kafka_resp_err_t a = kinds[round % 4], b = kinds[(round / 4) % 4], c = kinds[(round + 1) % 4];
    const std::size_t n = 1 + round % 3;
    rd_kafka_mock_broker_push_request_error_rtts(cluster_, 1, kListOffsets, n, a, 0, b, 0, c, 0);
    bool answered = false;
    for (int attempt = 0; attempt < 20 && !answered; ++attempt) {
      const WatermarkAnswer w = ask_watermarks(client_.get(), topic_, 0, kPartitions, 2000);
      if (!w.error.empty()) {
        EXPECT_TRUE(w.marks.empty()) << "an error with an answer: " << w.error;
        ++errors;
        continue;
      }
      answered = true;
      ++answers;
      ASSERT_EQ(w.marks.size(), static_cast<std::size_t>(kPartitions)) << "round " << round;
      for (std::int32_t p = 0; p < kPartitions; ++p) {
        EXPECT_EQ(w.marks[p].partition, p) << "round " << round;
        EXPECT_EQ(w.marks[p].low, 0) << "round " << round << ", partition " << p;
        EXPECT_EQ(w.marks[p].high, records(p)) << "round " << round << ", partition " << p;
      }
    }
    EXPECT_TRUE(answered) << "round " << round << ": no answer in 20 asks once the errors were served";
    size_t left = 99;
    ASSERT_EQ(rd_kafka_mock_broker_error_stack_cnt(cluster_, 1, kListOffsets, &left), RD_KAFKA_RESP_ERR_NO_ERROR);
    EXPECT_EQ(left, 0u) << "round " << round << ": answered with injected errors still unserved";
  }
  EXPECT_EQ(answers, 24);
  EXPECT_GT(errors, 0) << "no injected error ever reached the caller: the test injects nothing";
}

}  // namespace
}  // namespace saldo
