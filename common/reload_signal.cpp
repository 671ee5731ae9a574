#include "common/reload_signal.h"

#include <atomic>
#include <csignal>

namespace saldo {
namespace {

std::atomic<bool> g_reload{false};

extern "C" void on_sighup(int) { g_reload.store(true); }

}  // namespace

void install_reload_handler() {
  struct sigaction sa{};
  sa.sa_handler = on_sighup;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGHUP, &sa, nullptr);
}

bool take_reload_request() noexcept { return g_reload.exchange(false); }

void request_reload() noexcept { g_reload.store(true); }

}  // namespace saldo
