/**
 * The MySQL side of Countersign's wire layer: {@link io.countersign.wire.mysql.MySqlListener} accepts
 * agents speaking the MySQL client/server protocol and relays each session to its backend through
 * the same SPI as PostgreSQL ({@link io.countersign.wire.spi}).
 *
 * <p>Shape of a session: {@code PacketDecoder} frames bytes into {@code Packet}s (joining 16 MiB
 * splits), {@code ClientSession} runs the handshake, Countersign's own authentication
 * ({@code AgentAuth}) and the command phase; {@code BackendHandler}/{@code BackendLogin} log in to
 * the backend with the target's credentials on the same event loop; {@code ResponseTracker}
 * follows each response packet by packet so the session knows where results, rows and the final
 * packet are without buffering them.
 *
 * <p>Behaviour worth knowing: the agent sees Countersign's connection ids, and {@code KILL [QUERY] id}
 * is mapped to the backend's thread id (own connections only, ERR 1095 otherwise); a held
 * statement waits silently (MySQL has no asynchronous notice); LOCAL INFILE is never offered, and a
 * backend's file request is answered with an empty file; only COM_QUERY and COM_STMT_EXECUTE
 * reach the gate, other commands that could change data without SQL (COM_CREATE_DB, COM_SHUTDOWN,
 * replication commands, ...) are refused with ERR 1047.
 */
package io.countersign.wire.mysql;
