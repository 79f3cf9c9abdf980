#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tk::pcsc {

// One PC/SC resource-manager context (SCardEstablishContext ... SCardReleaseContext).
//
// pcsc-lite serialises the calls made on one context, and a context whose service went away
// (pcscd stopped or restarted) stays useless: calls then throw ServiceNotRunning or
// InvalidHandle and a new Context is needed. A blocking SCardGetStatusChange holds its
// context for as long as it waits, which is why ReaderMonitor keeps a context of its own.
class Context {
  public:
    // Throws ServiceNotRunning when pcscd is not there.
    Context();
    ~Context() noexcept;
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;
    Context(Context&&) = delete;
    Context& operator=(Context&&) = delete;

    // The names of the readers pcscd knows, in its order. No readers is an empty list, not an
    // error: "no reader yet" is an ordinary state for a daemon that waits for one.
    std::vector<std::string> listReaders() const;

    // Ends a SCardGetStatusChange waiting on this context from another thread; the waiting
    // call throws Cancelled. Does nothing when no call is waiting at that moment.
    void cancel() const;

    // The SCARDCONTEXT, for the classes of this layer.
    std::uintptr_t handle() const noexcept { return handle_; }

  private:
    std::uintptr_t handle_ = 0;
};

}  // namespace tk::pcsc
