#pragma once

#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>

#include <memory>

#include "event_log.hpp"

namespace tk::winsvc {

// An spdlog sink writing to the Windows Event Log: trace/debug/info as Information, warn as
// Warning, error/critical as Error. Events below the sink's level are not written.
//
// Locking is the sink's own (an SRW lock around formatting; ReportEventW itself is
// thread-safe), so it needs no std::mutex.
class EventLogSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
  public:
    explicit EventLogSink(std::shared_ptr<const EventLog> log);

  protected:
    void sink_it_(const spdlog::details::log_msg& message) override;
    void flush_() override {}

  private:
    std::shared_ptr<const EventLog> log_;
    SRWLOCK lock_ = SRWLOCK_INIT;
};

}  // namespace tk::winsvc
