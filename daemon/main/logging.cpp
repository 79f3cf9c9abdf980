#include "main/logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "service/config.hpp"

#if defined(TK_HAVE_JOURNALD)
#include <spdlog/sinks/systemd_sink.h>
#endif
#if !defined(_WIN32)
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace tk::daemon {

namespace {

std::string activeSink = "stderr";

// systemd sets JOURNAL_STREAM to "DEVICE:INODE" of the stream it connected to stderr; when
// stderr is still that stream, the journal reads it.
// Never on Windows (no journal).
bool stderrIsJournal() {
#if defined(_WIN32)
    return false;
#else
    const char* value = std::getenv("JOURNAL_STREAM");
    if (value == nullptr) {
        return false;
    }
    struct stat st {};
    if (fstat(STDERR_FILENO, &st) != 0) {
        return false;
    }
    return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) == value;
#endif
}

}  // namespace

void setUpLogging(const std::string& sink, const std::string& level) {
    const bool journald = sink == "journald" || (sink == "auto" && stderrIsJournal());
    std::shared_ptr<spdlog::logger> logger;
    if (journald) {
#if defined(TK_HAVE_JOURNALD)
        logger = std::make_shared<spdlog::logger>(
            "tenderkeyd", std::make_shared<spdlog::sinks::systemd_sink_mt>("tenderkeyd"));
        logger->set_pattern("%v");  // the journal records time, priority and identifier
        activeSink = "journald";
#else
        if (sink == "journald") {
            throw service::ConfigError(
                "log sink \"journald\": this build of tenderkeyd has no journald support");
        }
#endif
    }
    if (!logger) {
        logger = std::make_shared<spdlog::logger>(
            "tenderkeyd", std::make_shared<spdlog::sinks::stderr_sink_mt>());
        logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %l %v");
        activeSink = "stderr";
    }
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(logger);
    setLogLevel(level);
}

void setLogLevel(const std::string& level) {
    spdlog::set_level(spdlog::level::from_str(level));
}

std::string logSinkName() {
    return activeSink;
}

}  // namespace tk::daemon
