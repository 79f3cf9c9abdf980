#pragma once

#include <poll.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace tk::vcard {

// A unix stream socket taking one text command per line and answering one line
// ("ok ..." / "error ..."). Serviced from the caller's poll loop.
class ControlServer {
  public:
    using Handler = std::function<std::string(const std::string& line)>;
    static constexpr std::size_t kMaxClients = 16;
    static constexpr std::size_t kMaxLine = 1024;

    // Replaces a stale socket file; throws std::runtime_error.
    ControlServer(std::filesystem::path path, Handler handler);
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;
    ControlServer(ControlServer&&) = delete;
    ControlServer& operator=(ControlServer&&) = delete;
    ~ControlServer();  // closes everything and removes the socket file

    void add_poll_fds(std::vector<pollfd>& fds) const;
    // Handles the poll result for one of its fds; ignores fds it does not own.
    void on_ready(const pollfd& p);

  private:
    struct Client {
        int fd;
        std::string pending;
    };
    void accept_client();
    void serve(Client& client);  // closes the client on EOF, error or an over-long line
    void drop(int fd);

    std::filesystem::path path_;
    Handler handler_;
    int listen_fd_ = -1;
    std::vector<Client> clients_;
};

}  // namespace tk::vcard
