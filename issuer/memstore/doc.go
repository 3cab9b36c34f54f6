// Package memstore is wsticket's embedded ticket store: the store ticketd
// uses when no Redis is configured. It keeps records in process memory with
// the same semantics as the Redis store (expiry, atomic single-use take,
// revocation by user), bounded in size and swept of expired records in the
// background. It suits one ticketd instance; replicas need Redis.
package memstore
