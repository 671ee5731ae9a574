#pragma once
// The resolved options of consumer_service as one typed value, with every rule that involves more
// than one option (the ranges of single options are the table's, checked while parsing). Pure: the
// files the options name are read by main, for a start and for --print-config alike.
#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"

namespace saldo {

struct ServiceConfig {
  KafkaOptions kafka;
  HttpOptions http;
  LogOptions log;
  int http_threads = 512;
  int max_waiting = 64;   // requests waiting for ?after= at once
  int max_streams = 32;   // live streams open at once
  int heartbeat_s = 15;
  std::string dead_letter_topic;  // empty: none
  std::string postgres_url;       // empty: no PostgreSQL sink; may hold a password, never log it
  std::string postgres_table = "saldos";  // the topic's table set (postgres/postgres_schema.h)
  std::string tokens_file;        // empty: no tokens
  bool metrics_public = false;
  std::string tls_cert;  // empty: plain HTTP
  std::string tls_key;
  bool require_compacted = false;
  bool direct_catch_up = true;
  std::string state_dir;  // empty: no snapshots
  int snapshot_interval_s = 60;
  std::string shard_group;  // empty: not sharded (every partition held)
  std::string advertise;    // sharded: this instance's base URL for the others
  int drain_timeout_s = 60;
  // Settings that are valid but likely not what was meant, one line each: logged at start and
  // written to stderr by --print-config.
  std::vector<std::string> warnings;
};

// A base URL for --advertise: http(s)://host:port, nothing after the port.
bool valid_advertise_url(std::string_view url);

// Throws ConfigError naming the option and what it may be.
ServiceConfig service_config(const po::variables_map& vm);

}  // namespace saldo
