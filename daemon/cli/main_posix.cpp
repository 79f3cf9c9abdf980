#include "cli/entry.hpp"

// The arguments arrive as the bytes the caller gave: UTF-8 in a UTF-8 locale.
int main(int argc, char** argv) {
    return tk::cli::tenderkeyMain(argc, argv);
}
