#pragma once
// Orderly shutdown: the signal handler only flips an atomic flag (and wakes waiters through a
// self-pipe); the main thread notices it and stops its components from outside their threads.
#include <chrono>

namespace saldo {

// Installs handlers for SIGINT and SIGTERM. Safe to call more than once.
void install_shutdown_handlers();

// True once a signal arrived or request_shutdown() was called.
bool shutdown_requested() noexcept;

// Blocks until shutdown is requested or `timeout` passes (without spinning).
// Returns shutdown_requested().
bool wait_for_shutdown(std::chrono::milliseconds timeout);

// Same effect as a signal (e.g. from a fatal error in a worker thread, or a test).
void request_shutdown() noexcept;

}  // namespace saldo
