#include "event_log.hpp"

namespace tk::winsvc {

namespace {

// The identifiers of messages.mc: one message per severity, each just "%1".
constexpr DWORD kMessageInformation = 0x40000001L;
constexpr DWORD kMessageWarning = 0x80000002L;
constexpr DWORD kMessageError = 0xC0000003L;

constexpr const wchar_t* kSourceKey =
    L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\TenderKey";

}  // namespace

EventLog::EventLog() : source_(RegisterEventSourceW(nullptr, kEventSource)) {}

EventLog::~EventLog() {
    if (source_ != nullptr) {
        DeregisterEventSource(source_);
    }
}

bool EventLog::report(Severity severity, const std::wstring& text) const {
    if (source_ == nullptr) {
        return false;
    }
    WORD type = EVENTLOG_INFORMATION_TYPE;
    DWORD id = kMessageInformation;
    if (severity == Severity::Warning) {
        type = EVENTLOG_WARNING_TYPE;
        id = kMessageWarning;
    } else if (severity == Severity::Error) {
        type = EVENTLOG_ERROR_TYPE;
        id = kMessageError;
    }
    const wchar_t* strings[] = {text.c_str()};
    return ReportEventW(source_, type, 0, id, nullptr, 1, 0, strings, nullptr) != FALSE;
}

bool EventLog::registerSource(const std::wstring& messageFile, std::wstring& error) {
    HKEY key = nullptr;
    const LSTATUS created =
        RegCreateKeyExW(HKEY_LOCAL_MACHINE, kSourceKey, 0, nullptr, REG_OPTION_NON_VOLATILE,
                        KEY_SET_VALUE, nullptr, &key, nullptr);
    if (created != ERROR_SUCCESS) {
        error = lastErrorText(L"creating the event source", static_cast<DWORD>(created));
        return false;
    }
    const DWORD types = EVENTLOG_ERROR_TYPE | EVENTLOG_WARNING_TYPE | EVENTLOG_INFORMATION_TYPE;
    LSTATUS status = RegSetValueExW(key, L"EventMessageFile", 0, REG_EXPAND_SZ,
                                    reinterpret_cast<const BYTE*>(messageFile.c_str()),
                                    static_cast<DWORD>((messageFile.size() + 1) * sizeof(wchar_t)));
    if (status == ERROR_SUCCESS) {
        status = RegSetValueExW(key, L"TypesSupported", 0, REG_DWORD,
                                reinterpret_cast<const BYTE*>(&types), sizeof(types));
    }
    RegCloseKey(key);
    if (status != ERROR_SUCCESS) {
        error = lastErrorText(L"writing the event source", static_cast<DWORD>(status));
        return false;
    }
    return true;
}

void EventLog::unregisterSource() {
    RegDeleteKeyW(HKEY_LOCAL_MACHINE, kSourceKey);
}

}  // namespace tk::winsvc
