#include "main/daemon.hpp"

int main(int argc, char** argv) {
    return tk::daemon::run(argc, argv);
}
