#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tk::test {

// A JSON Schema (draft 2020-12) validator for the keywords protocol/schema/ uses (listed in
// protocol/README.md §10). A keyword outside that list is an error, never silently passed, so
// a schema cannot claim a rule that these tests do not check.
class SchemaSet {
  public:
    // Adds a document by its absolute $id.
    void add(const nlohmann::json& schema);
    // Problems of `instance` against the schema `id` ("https://…/x.json" or with "#/pointer");
    // empty when it is valid.
    std::vector<std::string> validate(const std::string& id, const nlohmann::json& instance) const;

  private:
    struct Located {
        const nlohmann::json* schema;
        std::string base;
    };
    Located resolve(const std::string& ref, const std::string& base) const;
    void check(const nlohmann::json& schema, const nlohmann::json& value, const std::string& base,
               const std::string& path, std::vector<std::string>& errors) const;

    std::map<std::string, nlohmann::json> documents_;
};

// protocol/schema/ loaded through its index.json: checks whole TenderKey messages.
class ProtocolSchemas {
  public:
    explicit ProtocolSchemas(const std::filesystem::path& schemaDir);

    std::vector<std::string> success(const std::string& method, const nlohmann::json& m) const;
    std::vector<std::string> failure(const nlohmann::json& m) const;
    std::vector<std::string> notification(const nlohmann::json& m) const;
    std::vector<std::string> health(const nlohmann::json& body) const;
    // Any message from the daemon: a response to `method` (empty when not known: then only
    // failures and notifications can be checked fully) or a notification.
    std::vector<std::string> message(const nlohmann::json& m, const std::string& method) const;

    const nlohmann::json& index() const { return index_; }

  private:
    std::string idOf(const std::string& relative) const;

    nlohmann::json index_;
    SchemaSet set_;
    std::map<std::string, std::string> ids_;  // path relative to schema/ -> $id
};

}  // namespace tk::test
