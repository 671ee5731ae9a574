#include "tests/faults/fault_support.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace saldo::test {
namespace {

using Clock = std::chrono::steady_clock;

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

}  // namespace

std::string source_dir() { return env_or("SALDO_SOURCE_DIR", SALDO_TEST_SOURCE_DIR); }

OwnBroker::OwnBroker()
    : port_(std::stoi(env_or("SALDO_TEST_FAULT_KAFKA_PORT", "19492"))),
      data_dir_(env_or("TMPDIR", "/tmp") + "/saldo-fault-kafka-" + std::to_string(port_)) {
  std::filesystem::remove_all(data_dir_);
}

OwnBroker::~OwnBroker() {
  try {
    stop();
    std::filesystem::remove_all(data_dir_);
  } catch (...) {
  }
}

CommandResult OwnBroker::script(const std::string& verb) {
  return run_command({"/bin/bash", source_dir() + "/scripts/kafka-local.sh", verb}, {},
                     {{"KAFKA_PORT", std::to_string(port_)}, {"KAFKA_DATA_DIR", data_dir_}, {"KAFKA_HEAP", "512m"}},
                     std::chrono::seconds(120));
}

void OwnBroker::start() {
  const CommandResult r = script("start");
  if (r.exit_code != 0) throw std::runtime_error("kafka-local.sh start failed: " + r.out + r.err);
}

void OwnBroker::kill() {
  const CommandResult r = script("kill");
  if (r.exit_code != 0) throw std::runtime_error("kafka-local.sh kill failed: " + r.out + r.err);
}

void OwnBroker::stop() { script("stop"); }

std::optional<double> metric(const std::string& exposition, const std::string& name_and_labels) {
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > name_and_labels.size() && line.compare(0, name_and_labels.size(), name_and_labels) == 0 &&
        line[name_and_labels.size()] == ' ') {
      return std::stod(line.substr(name_and_labels.size() + 1));
    }
  }
  return std::nullopt;
}

int connect_loopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  return fd;
}

RawHttp::RawHttp(int port) : port_(port) { reconnect(); }
RawHttp::~RawHttp() { close(); }

void RawHttp::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
}

void RawHttp::reconnect() {
  close();
  fd_ = connect_loopback(port_);
}

bool RawHttp::send_all(const std::string& bytes) {
  std::size_t done = 0;
  while (fd_ >= 0 && done < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return fd_ >= 0;
}

int RawHttp::get(const std::string& target, std::chrono::milliseconds timeout) {
  if (fd_ < 0) reconnect();
  if (fd_ < 0) return 0;
  // A server may answer (414, 400) and close before it read everything: the answer still counts.
  send_all("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  const auto deadline = Clock::now() + timeout;
  while (true) {
    const auto head_end = buffer_.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      std::size_t length = 0;
      const auto cl = buffer_.find("Content-Length: ");
      if (cl != std::string::npos && cl < head_end) length = std::stoul(buffer_.substr(cl + 16));
      if (buffer_.size() >= head_end + 4 + length) {
        const int status = buffer_.rfind("HTTP/1.1 ", 0) == 0 ? std::stoi(buffer_.substr(9, 3)) : -1;
        const bool closes = buffer_.substr(0, head_end).find("Connection: close") != std::string::npos;
        buffer_.erase(0, head_end + 4 + length);
        if (closes) close();
        return status;
      }
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) break;
    char chunk[16384];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
  close();
  return 0;
}

}  // namespace saldo::test
