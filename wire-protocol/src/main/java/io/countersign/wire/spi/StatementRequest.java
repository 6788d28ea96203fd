package io.countersign.wire.spi;

import java.util.List;

/**
 * A statement about to be sent to the backend, as the gate sees it.
 *
 * @param session    the session it arrives on
 * @param sql        the statement text exactly as the client sent it (a simple query may hold several statements)
 * @param parameters bound parameter values, empty for the simple query protocol
 * @param extended   whether it came through the extended (prepared) protocol
 * @param inTransaction whether the session was inside a transaction block when it arrived
 */
public record StatementRequest(
        SessionInfo session,
        String sql,
        List<BoundParameter> parameters,
        boolean extended,
        boolean inTransaction) {

    public StatementRequest {
        parameters = List.copyOf(parameters);
    }
}
