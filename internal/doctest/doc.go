// Package doctest holds the tests that check the documentation works as a
// newcomer uses it: every complete Go program in README.md and docs/*.md
// builds against this tree, the README's Go WebSocket server admits a
// ticket when run against `ticketd --dev`, the README's curl walk-through
// answers what it says it answers, and the browser client installs from
// its npm tarball and connects from Node and from Chromium.
//
// Conventions the tests rely on, in README.md and docs/*.md:
//
//   - A complete Go program is a ```go block whose first line that is not
//     a comment is "package main". It is built in a fresh module that
//     requires this tree (a replace directive), offline. The section it is
//     in (from the heading before it) must name the modules of its
//     imports in a `go get` line, and say "Go 1.N or later" with the
//     go.mod's version.
//   - The program that follows a line <!-- doctest:server ... --> is also
//     run: it reads WSTICKET_SERVICE_KEY, TICKETD_GRPC_ADDR and ADDR from
//     its environment and serves a WebSocket at /ws behind
//     a wsmiddleware.Guard.
//   - The ```sh block that follows a line <!-- doctest:walkthrough ... -->
//     is run with bash, after the export lines `ticketd --dev` printed,
//     with http://127.0.0.1:8080 replaced by that ticketd's address. Each
//     command's output must match the "# => " lines that follow it, where
//     "..." stands for any text; a command without such lines must print
//     nothing.
package doctest
