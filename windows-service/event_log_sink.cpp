#include "event_log_sink.hpp"

#include <string>
#include <string_view>

namespace tk::winsvc {

EventLogSink::EventLogSink(std::shared_ptr<const EventLog> log) : log_(std::move(log)) {}

void EventLogSink::sink_it_(const spdlog::details::log_msg& message) {
    if (message.level == spdlog::level::off) {
        return;
    }
    EventLog::Severity severity = EventLog::Severity::Information;
    if (message.level == spdlog::level::warn) {
        severity = EventLog::Severity::Warning;
    } else if (message.level >= spdlog::level::err) {
        severity = EventLog::Severity::Error;
    }
    std::string text;
    {
        const SrwGuard guard(lock_);
        spdlog::memory_buf_t formatted;
        formatter_->format(message, formatted);
        text.assign(formatted.data(), formatted.size());
    }
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
        text.pop_back();
    }
    log_->report(severity, widen(text));
}

}  // namespace tk::winsvc
