// Package ticket holds what every part of wsticket agrees on about a ticket:
// its wire format, the hash it is stored under, the stored record and its
// encoding, and the Redis key layout. It does no I/O.
package ticket
