#include "support/schema_validator.hpp"

#include <cmath>
#include <fstream>
#include <regex>
#include <set>
#include <stdexcept>

namespace tk::test {

namespace {

using json = nlohmann::json;

const std::set<std::string> kAnnotations{"$schema", "$id",         "$comment", "$defs",
                                         "title",   "description", "default",  "examples"};

std::size_t codePoints(const std::string& s) {
    std::size_t n = 0;
    for (const char c : s) {
        n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
    }
    return n;
}

bool hasType(const json& v, const std::string& type) {
    if (type == "integer") {
        if (v.is_number_integer()) {
            return true;
        }
        return v.is_number_float() && std::trunc(v.get<double>()) == v.get<double>();
    }
    if (type == "number") {
        return v.is_number();
    }
    if (type == "object") {
        return v.is_object();
    }
    if (type == "array") {
        return v.is_array();
    }
    if (type == "string") {
        return v.is_string();
    }
    if (type == "boolean") {
        return v.is_boolean();
    }
    if (type == "null") {
        return v.is_null();
    }
    throw std::runtime_error("unknown type " + type);
}

bool isDateTime(const std::string& s) {
    static const std::regex pattern(
        R"(^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$)");
    std::smatch m;
    if (!std::regex_match(s, m, pattern)) {
        return false;
    }
    const int year = std::stoi(m[1]);
    const int month = std::stoi(m[2]);
    const int day = std::stoi(m[3]);
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12) {
        return false;
    }
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    const int days = kDays[month - 1] + (month == 2 && leap ? 1 : 0);
    return day >= 1 && day <= days && std::stoi(m[4]) <= 23 && std::stoi(m[5]) <= 59 &&
           std::stoi(m[6]) <= 60;
}

const std::regex& compiled(const std::string& pattern) {
    thread_local std::map<std::string, std::regex> cache;
    auto it = cache.find(pattern);
    if (it == cache.end()) {
        it = cache.emplace(pattern, std::regex(pattern, std::regex::ECMAScript)).first;
    }
    return it->second;
}

std::string pointerUnescape(std::string token) {
    for (std::size_t at; (at = token.find("~1")) != std::string::npos;) {
        token.replace(at, 2, "/");
    }
    for (std::size_t at; (at = token.find("~0")) != std::string::npos;) {
        token.replace(at, 2, "~");
    }
    return token;
}

const json& pointerGet(const json& document, const std::string& pointer, const std::string& where) {
    if (pointer.empty()) {
        return document;
    }
    if (pointer.front() != '/') {
        throw std::runtime_error("unsupported fragment " + pointer + " in " + where);
    }
    const json* current = &document;
    std::size_t start = 1;
    while (true) {
        const auto slash = pointer.find('/', start);
        const std::string key = pointerUnescape(pointer.substr(start, slash - start));
        if (!current->is_object() || !current->contains(key)) {
            throw std::runtime_error("unresolvable reference " + where);
        }
        current = &(*current)[key];
        if (slash == std::string::npos) {
            return *current;
        }
        start = slash + 1;
    }
}

std::string childPath(const std::string& path, const std::string& key) {
    return path + "/" + key;
}

// base "https://h/schema/v1/envelope/error.json" + "../common.json" ->
// "https://h/schema/v1/common.json"
std::string resolveUrl(const std::string& base, const std::string& relative) {
    if (relative.empty()) {
        return base;
    }
    if (relative.find("://") != std::string::npos) {
        return relative;
    }
    const auto schemeEnd = base.find("://");
    const auto pathStart = base.find('/', schemeEnd + 3);
    const std::string origin = base.substr(0, pathStart);
    std::vector<std::string> segments;
    std::string directory = base.substr(pathStart, base.rfind('/') - pathStart + 1);
    const std::string joined = directory + relative;
    std::size_t start = 1;
    while (start <= joined.size()) {
        const auto slash = joined.find('/', start);
        const std::string segment =
            joined.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        if (segment == "..") {
            if (!segments.empty()) {
                segments.pop_back();
            }
        } else if (segment != "." && !segment.empty()) {
            segments.push_back(segment);
        }
        if (slash == std::string::npos) {
            break;
        }
        start = slash + 1;
    }
    std::string result = origin;
    for (const auto& s : segments) {
        result += "/" + s;
    }
    return result;
}

}  // namespace

void SchemaSet::add(const json& schema) {
    if (!schema.contains("$id") || !schema["$id"].is_string()) {
        throw std::runtime_error("a schema document needs an absolute $id");
    }
    documents_[schema["$id"].get<std::string>()] = schema;
}

SchemaSet::Located SchemaSet::resolve(const std::string& ref, const std::string& base) const {
    const auto hash = ref.find('#');
    const std::string path = ref.substr(0, hash);
    const std::string fragment = hash == std::string::npos ? "" : ref.substr(hash + 1);
    const std::string documentId = resolveUrl(base, path);
    const auto it = documents_.find(documentId);
    if (it == documents_.end()) {
        throw std::runtime_error("reference to unknown schema " + documentId + " from " + base);
    }
    return {&pointerGet(it->second, fragment, ref + " from " + base), documentId};
}

std::vector<std::string> SchemaSet::validate(const std::string& id, const json& instance) const {
    const Located located = resolve(id, id.substr(0, id.find('#')));
    std::vector<std::string> errors;
    check(*located.schema, instance, located.base, "", errors);
    return errors;
}

void SchemaSet::check(const json& schema, const json& v, const std::string& base,
                      const std::string& path, std::vector<std::string>& errors) const {
    if (schema.is_boolean()) {
        if (!schema.get<bool>()) {
            errors.push_back(path + " is not allowed");
        }
        return;
    }
    const auto fail = [&](const std::string& message) {
        errors.push_back((path.empty() ? "/" : path) + " " + message);
    };
    const auto run = [&](const json& sub) {
        std::vector<std::string> e;
        check(sub, v, base, path, e);
        return e;
    };
    for (const auto& [k, s] : schema.items()) {
        if (kAnnotations.count(k) != 0) {
            continue;
        }
        if (k == "$ref") {
            const Located target = resolve(s.get<std::string>(), base);
            check(*target.schema, v, target.base, path, errors);
        } else if (k == "type") {
            const std::vector<std::string> types =
                s.is_array() ? s.get<std::vector<std::string>>()
                             : std::vector<std::string>{s.get<std::string>()};
            bool any = false;
            for (const auto& t : types) {
                any = any || hasType(v, t);
            }
            if (!any) {
                fail("must be of type " + s.dump());
            }
        } else if (k == "const") {
            if (v != s) {
                fail("must equal " + s.dump());
            }
        } else if (k == "enum") {
            if (std::find(s.begin(), s.end(), v) == s.end()) {
                fail("must be one of " + s.dump());
            }
        } else if (k == "properties") {
            if (v.is_object()) {
                for (const auto& [name, sub] : s.items()) {
                    if (v.contains(name)) {
                        check(sub, v[name], base, childPath(path, name), errors);
                    }
                }
            }
        } else if (k == "required") {
            if (v.is_object()) {
                for (const auto& name : s) {
                    if (!v.contains(name.get<std::string>())) {
                        fail("is missing required member \"" + name.get<std::string>() + "\"");
                    }
                }
            }
        } else if (k == "additionalProperties") {
            if (v.is_object()) {
                const json known = schema.value("properties", json::object());
                for (const auto& [name, member] : v.items()) {
                    if (known.contains(name)) {
                        continue;
                    }
                    if (s.is_boolean() && !s.get<bool>()) {
                        fail("has unknown member \"" + name + "\"");
                    } else {
                        check(s, member, base, childPath(path, name), errors);
                    }
                }
            }
        } else if (k == "dependentRequired") {
            if (v.is_object()) {
                for (const auto& [name, deps] : s.items()) {
                    if (!v.contains(name)) {
                        continue;
                    }
                    for (const auto& d : deps) {
                        if (!v.contains(d.get<std::string>())) {
                            fail("member \"" + name + "\" requires \"" + d.get<std::string>() +
                                 "\"");
                        }
                    }
                }
            }
        } else if (k == "items") {
            if (v.is_array()) {
                for (std::size_t i = 0; i < v.size(); ++i) {
                    check(s, v[i], base, childPath(path, std::to_string(i)), errors);
                }
            }
        } else if (k == "minItems") {
            if (v.is_array() && v.size() < s.get<std::size_t>()) {
                fail("must have at least " + s.dump() + " items");
            }
        } else if (k == "maxItems") {
            if (v.is_array() && v.size() > s.get<std::size_t>()) {
                fail("must have at most " + s.dump() + " items");
            }
        } else if (k == "uniqueItems") {
            if (s.get<bool>() && v.is_array()) {
                for (std::size_t i = 0; i < v.size(); ++i) {
                    for (std::size_t j = i + 1; j < v.size(); ++j) {
                        if (v[i] == v[j]) {
                            fail("must not repeat items");
                        }
                    }
                }
            }
        } else if (k == "minLength") {
            if (v.is_string() && codePoints(v.get<std::string>()) < s.get<std::size_t>()) {
                fail("must be at least " + s.dump() + " characters");
            }
        } else if (k == "maxLength") {
            if (v.is_string() && codePoints(v.get<std::string>()) > s.get<std::size_t>()) {
                fail("must be at most " + s.dump() + " characters");
            }
        } else if (k == "pattern") {
            if (v.is_string() &&
                !std::regex_search(v.get<std::string>(), compiled(s.get<std::string>()))) {
                fail("must match " + s.get<std::string>());
            }
        } else if (k == "minimum") {
            if (v.is_number() && v.get<double>() < s.get<double>()) {
                fail("must be >= " + s.dump());
            }
        } else if (k == "maximum") {
            if (v.is_number() && v.get<double>() > s.get<double>()) {
                fail("must be <= " + s.dump());
            }
        } else if (k == "format") {
            if (s != "date-time") {
                throw std::runtime_error("unsupported format " + s.dump());
            }
            if (v.is_string() && !isDateTime(v.get<std::string>())) {
                fail("must be a date-time");
            }
        } else if (k == "allOf") {
            for (const auto& sub : s) {
                check(sub, v, base, path, errors);
            }
        } else if (k == "anyOf" || k == "oneOf") {
            std::size_t matched = 0;
            std::vector<std::string> fewest;
            bool first = true;
            for (const auto& sub : s) {
                auto e = run(sub);
                if (e.empty()) {
                    ++matched;
                } else if (first || e.size() < fewest.size()) {
                    fewest = std::move(e);
                    first = false;
                }
            }
            if (k == "anyOf" && matched == 0) {
                fail("must match at least one alternative");
                errors.insert(errors.end(), fewest.begin(), fewest.end());
            }
            if (k == "oneOf" && matched != 1) {
                fail("must match exactly one alternative (matched " + std::to_string(matched) +
                     ")");
                if (matched == 0) {
                    errors.insert(errors.end(), fewest.begin(), fewest.end());
                }
            }
        } else if (k == "not") {
            if (run(s).empty()) {
                fail("must not match " + s.dump());
            }
        } else if (k == "if") {
            const bool ok = run(s).empty();
            const char* branch = ok ? "then" : "else";
            if (schema.contains(branch)) {
                check(schema[branch], v, base, path, errors);
            }
        } else if (k == "then" || k == "else") {
            continue;  // evaluated with "if"
        } else {
            throw std::runtime_error("unsupported keyword \"" + k + "\" in " + base);
        }
    }
}

ProtocolSchemas::ProtocolSchemas(const std::filesystem::path& schemaDir) {
    const auto read = [](const std::filesystem::path& p) {
        std::ifstream in(p);
        if (!in) {
            throw std::runtime_error("cannot read " + p.string());
        }
        return json::parse(in);
    };
    index_ = read(schemaDir / "index.json");
    for (const auto& entry : std::filesystem::recursive_directory_iterator(schemaDir)) {
        if (!entry.is_regular_file() || entry.path().extension() != ".json" ||
            entry.path().filename() == "index.json") {
            continue;
        }
        const json document = read(entry.path());
        set_.add(document);
        ids_[std::filesystem::relative(entry.path(), schemaDir).generic_string()] =
            document["$id"].get<std::string>();
    }
}

std::string ProtocolSchemas::idOf(const std::string& relative) const {
    const auto it = ids_.find(relative);
    if (it == ids_.end()) {
        throw std::runtime_error("index.json names a missing schema file " + relative);
    }
    return it->second;
}

std::vector<std::string> ProtocolSchemas::success(const std::string& method, const json& m) const {
    auto errors = set_.validate(idOf(index_["envelope"]["success"]), m);
    const char* table = index_["methods"].contains(method)         ? "methods"
                        : index_["bridgeMethods"].contains(method) ? "bridgeMethods"
                                                                   : nullptr;
    if (table == nullptr) {
        errors.push_back("unknown method " + method);
        return errors;
    }
    if (errors.empty()) {
        errors = set_.validate(idOf(index_[table][method]["result"]), m["result"]);
    }
    return errors;
}

std::vector<std::string> ProtocolSchemas::failure(const json& m) const {
    return set_.validate(idOf(index_["envelope"]["error"]), m);
}

std::vector<std::string> ProtocolSchemas::notification(const json& m) const {
    return set_.validate(idOf(index_["envelope"]["notification"]), m);
}

std::vector<std::string> ProtocolSchemas::health(const json& body) const {
    return set_.validate(idOf(index_["health"]), body);
}

std::vector<std::string> ProtocolSchemas::message(const json& m, const std::string& method) const {
    if (!m.contains("id")) {
        return notification(m);
    }
    if (m.contains("error")) {
        return failure(m);
    }
    if (method.empty()) {
        return {"a result for a request of unknown method"};
    }
    return success(method, m);
}

}  // namespace tk::test
