#pragma once

#include <exception>
#include <string_view>
#include <utility>

#include "service/api.hpp"
#include "service/reasons.hpp"

namespace tk::service {

// Carries an ApiError from wherever a method finds it to the Api boundary, where it becomes
// the call's completion.
class ApiFailure : public std::exception {
  public:
    explicit ApiFailure(ApiError error) : error_(std::move(error)) {}
    ApiFailure(Reason reason, std::string_view detail,
               nlohmann::json data = nlohmann::json::object())
        : error_(makeError(reason, detail, std::move(data))) {}

    const ApiError& error() const noexcept { return error_; }
    const char* what() const noexcept override { return error_.message.c_str(); }

  private:
    ApiError error_;
};

// INVALID_PARAMS naming `field` (empty: no field, as for by-position params).
inline ApiFailure invalidParams(std::string_view field, std::string_view detail) {
    nlohmann::json data = nlohmann::json::object();
    if (!field.empty()) {
        data["field"] = field;
    }
    return ApiFailure(Reason::InvalidParams, detail, std::move(data));
}

}  // namespace tk::service
