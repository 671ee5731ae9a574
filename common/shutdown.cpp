#include "common/shutdown.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <mutex>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

namespace saldo {
namespace {

std::atomic<bool> g_requested{false};
// Self-pipe: a signal handler may only do async-signal-safe things, and write() is one. Waiters poll
// the read end; it is never drained, so once written every present and future wait returns at once.
int g_pipe[2] = {-1, -1};
std::once_flag g_pipe_once;

void make_pipe() {
  if (::pipe(g_pipe) != 0) {
    g_pipe[0] = g_pipe[1] = -1;
    return;
  }
  for (int fd : g_pipe) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
}

void notify() noexcept {
  g_requested.store(true);
  if (g_pipe[1] >= 0) {
    int saved = errno;
    char byte = 1;
    [[maybe_unused]] ssize_t n = ::write(g_pipe[1], &byte, 1);
    errno = saved;
  }
}

extern "C" void on_signal(int) { notify(); }

}  // namespace

void install_shutdown_handlers() {
  std::call_once(g_pipe_once, make_pipe);
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  // No SA_RESTART: a blocking read (the interactive prompt) returns EINTR and sees the request.
  sa.sa_flags = 0;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

bool shutdown_requested() noexcept { return g_requested.load(); }

void request_shutdown() noexcept {
  std::call_once(g_pipe_once, make_pipe);
  notify();
}

bool wait_for_shutdown(std::chrono::milliseconds timeout) {
  std::call_once(g_pipe_once, make_pipe);
  if (g_requested.load()) return true;
  pollfd pfd{g_pipe[0], POLLIN, 0};
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || g_requested.load()) break;
    int rc = ::poll(&pfd, 1, static_cast<int>(std::min<long long>(left.count(), 1'000'000'000)));
    if (rc > 0 || (rc < 0 && errno != EINTR)) break;
  }
  return g_requested.load();
}

}  // namespace saldo
