/**
 * The seams between a protocol session and the rest of Countersign.
 *
 * <p>A session (PostgreSQL or MySQL) knows the wire; it knows nothing of policy. It asks an
 * {@link io.countersign.wire.spi.AgentAuthenticator} who the client is and where its backend lives,
 * asks the {@link io.countersign.wire.spi.StatementGate} about every statement before the statement
 * reaches the backend, and tells the {@link io.countersign.wire.spi.StatementListener} about every
 * statement once it completes. The {@code server} module implements all three.
 *
 * <p>Every method here is called on a Netty event loop and must not block.
 */
package io.countersign.wire.spi;
