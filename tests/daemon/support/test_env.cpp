#include "support/test_env.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace tk::test {

std::string env(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr) {
        throw std::runtime_error(std::string(name) +
                                 " is not set: run under tests/harness/with-cards");
    }
    return value;
}

const ProtocolSchemas& schemas() {
    static const ProtocolSchemas instance(TK_PROTOCOL_SCHEMA_DIR);
    return instance;
}

std::string controlCard(const std::string& socketPath, const std::string& command) {
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", socketPath.c_str());
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        close(fd);
        throw std::runtime_error("cannot reach the card's control socket " + socketPath);
    }
    const std::string line = command + "\n";
    if (write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
        close(fd);
        throw std::runtime_error("control write failed");
    }
    std::string answer;
    char c = 0;
    while (read(fd, &c, 1) == 1 && c != '\n') {
        answer += c;
    }
    close(fd);
    if (answer.rfind("ok", 0) != 0) {
        throw std::runtime_error("card-ctl " + command + ": " + answer);
    }
    return answer;
}

}  // namespace tk::test
