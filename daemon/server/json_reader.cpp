#include "server/json_reader.hpp"

#include <string>
#include <vector>

namespace tk::server {

namespace {

using json = nlohmann::json;

// Builds the document like nlohmann's own DOM parser, and additionally counts the nesting
// depth and notices repeated member names.
class LimitedDomBuilder final : public nlohmann::json_sax<json> {
  public:
    explicit LimitedDomBuilder(int maxDepth) : maxDepth_(maxDepth) {}

    bool null() override { return place(json(nullptr)); }
    bool boolean(bool v) override { return place(json(v)); }
    bool number_integer(number_integer_t v) override { return place(json(v)); }
    bool number_unsigned(number_unsigned_t v) override { return place(json(v)); }
    bool number_float(number_float_t v, const string_t& /*text*/) override {
        return place(json(v));
    }
    bool string(string_t& v) override { return place(json(std::move(v))); }
    bool binary(binary_t& /*v*/) override { return false; }

    bool start_object(std::size_t /*elements*/) override { return open(json::object()); }
    bool key(string_t& k) override {
        json& object = *stack_.back();
        if (object.contains(k)) {
            repeated_ = true;
        }
        member_ = &object[k];
        return true;
    }
    bool end_object() override {
        stack_.pop_back();
        return true;
    }
    bool start_array(std::size_t /*elements*/) override { return open(json::array()); }
    bool end_array() override {
        stack_.pop_back();
        return true;
    }
    bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                     const nlohmann::detail::exception& /*ex*/) override {
        return false;
    }

    json take() { return std::move(root_); }
    bool repeated() const { return repeated_; }

  private:
    json* placeValue(json&& v) {
        if (stack_.empty()) {
            root_ = std::move(v);
            return &root_;
        }
        json& parent = *stack_.back();
        if (parent.is_array()) {
            parent.push_back(std::move(v));
            return &parent.back();
        }
        *member_ = std::move(v);
        return member_;
    }
    bool place(json&& v) {
        placeValue(std::move(v));
        return true;
    }
    bool open(json&& container) {
        if (static_cast<int>(stack_.size()) >= maxDepth_) {
            return false;
        }
        stack_.push_back(placeValue(std::move(container)));
        return true;
    }

    int maxDepth_;
    json root_;
    std::vector<json*> stack_;
    json* member_ = nullptr;
    bool repeated_ = false;
};

}  // namespace

JsonReading readJson(std::string_view text, int maxDepth) {
    LimitedDomBuilder builder(maxDepth);
    bool ok = false;
    try {
        ok = json::sax_parse(text.begin(), text.end(), &builder, json::input_format_t::json,
                             /*strict=*/true);
    } catch (const json::exception&) {
        ok = false;
    }
    if (!ok) {
        return {};
    }
    return {builder.take(), builder.repeated()};
}

}  // namespace tk::server
