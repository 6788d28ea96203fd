/**
 * Countersign's PostgreSQL proxy: {@link io.countersign.wire.pg.PostgresListener} accepts agents
 * speaking the frontend/backend protocol 3.0 and relays each session to its backend.
 *
 * <h2>How a session runs</h2>
 * <ul>
 *   <li>{@code FrontendHandler}: SSLRequest (TLS from the configured SslContext, else 'N'), GSSENCRequest
 *       ('N'), CancelRequest, StartupMessage with protocol negotiation down to 3.0, then agent
 *       authentication (SCRAM-SHA-256; MD5 and cleartext-over-TLS only when enabled). Unknown agents run
 *       a full SCRAM exchange with a stable fake salt and fail like a wrong password (28P01).</li>
 *   <li>{@code BackendHandler}: Countersign's own login to the backend (TLS disable/prefer/require/verify-full;
 *       SCRAM-SHA-256, MD5, cleartext or trust). The backend channel is registered on the agent channel's
 *       event loop, so a session never needs locks. The agent receives the backend's ParameterStatus messages
 *       and Countersign's own BackendKeyData; a CancelRequest with that key is sent on to the backend with
 *       the backend's real key.</li>
 *   <li>{@code RelaySession}: messages are framed by type and length only ({@code PgFramer}); consecutive
 *       forwarded messages of one read leave as a single retained slice ({@code Forwarder}) and are flushed
 *       once per read batch. When the agent cannot keep up, the backend channel stops reading (and the other
 *       way round).</li>
 * </ul>
 *
 * <h2>The gate on the wire</h2>
 * Every simple Query, every Execute (with its Parse text and Bind parameters) and every fast-path
 * FunctionCall is decided by the {@link io.countersign.wire.spi.StatementGate} before it is forwarded.
 * <ul>
 *   <li><b>Deny</b> (and a held statement withdrawn by CancelRequest): the statement is replaced by a
 *       {@code DO} block that raises the gate's SQLSTATE and message on the backend. The backend therefore
 *       fails a transaction block (later statements get 25P02 until ROLLBACK), rolls back an implicit
 *       extended-protocol transaction and skips to Sync exactly as if the statement itself had failed; the
 *       client gets an ordinary ErrorResponse. In the extended protocol this replaces the unnamed prepared
 *       statement, and Countersign itself skips the client's messages up to Sync.</li>
 *   <li><b>Defer</b>: the notice goes out at once as a NoticeResponse; the statement and every later message
 *       of the client wait, in order, until the outcome completes (the client is still read, up to 1 MiB
 *       queued, so a disconnect is seen at once). CancelRequest or disconnect completes the outcome with
 *       {@link io.countersign.wire.spi.StatementWithdrawnException}.</li>
 *   <li><b>ResultObserver</b>: RowDescription columns (table OID, attnum) are shown to the observer before
 *       they leave, including columns learnt from an earlier Describe when a server-prepared statement is
 *       executed without one. On refusal the client gets the error in place of the RowDescription/rows.
 *       Known limit: the backend has already run that statement (it is a read) and, in a pipeline or a
 *       multi-statement string, the statements after it; their output is discarded up to ReadyForQuery and
 *       an open transaction is not marked failed.</li>
 *   <li><b>Allow with run-as</b>: the statement runs as the elevated role, wrapped in
 *       {@code SET LOCAL ROLE ... RESET ROLE} on the agent's own backend connection; a statement that cannot
 *       run in a transaction block ({@code OutsideTransaction}) runs instead on a separate backend session
 *       logged in with the role's credentials ({@code ElevatedSession}, the same {@code BackendHandler}
 *       login), whose results are relayed as the agent's own and which closes with the statement.</li>
 * </ul>
 * Each statement produces exactly one {@link io.countersign.wire.spi.StatementCompletion}; a portal
 * fetched in several Executes (fetchSize) is one statement. If the listener returns an unfinished stage,
 * the statement's final message and everything after it wait for it.
 */
package io.countersign.wire.pg;
