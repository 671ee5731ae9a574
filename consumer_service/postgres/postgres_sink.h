#pragma once
// The PostgreSQL read model: every change of the topic also lands in its table (saldos by default;
// one table set per topic, so topics sharing a database never mix or delete each other's rows).
// Its own thread, its own librdkafka consumer and its own libpq connection, so HTTP and the
// in-memory table never wait for PostgreSQL. It reads from the positions stored in saldo_offsets
// and commits rows and positions in one transaction: after any crash it resumes where its last
// commit ended. While PostgreSQL is down it retries with backoff; the service keeps serving.
#include <memory>
#include <string>

#include "common/config.h"
#include "consumer_service/postgres/postgres_sink_status.h"

namespace saldo {

class PostgresSink {
 public:
  // `conninfo`: a libpq URI or key=value string (the password may also come from PGPASSWORD or
  // ~/.pgpass). It is never logged; describe_conninfo() is. `table` names the topic's table set
  // (`table` and `table`_excluidos); throws ConfigError when pg_schema::valid_table_name refuses it.
  PostgresSink(KafkaOptions kafka, std::string conninfo, std::string table, PostgresSinkStatus& status);
  ~PostgresSink();
  PostgresSink(const PostgresSink&) = delete;
  PostgresSink& operator=(const PostgresSink&) = delete;

  // Creates the consumer (throws ConfigError on a bad -X property) and starts the thread.
  void start();
  // Stops the thread (within about a second, or a connect timeout) and closes the consumer.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace saldo
