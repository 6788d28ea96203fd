package io.countersign.wire.spi;

import java.net.SocketAddress;
import java.util.Map;

/**
 * Who is on the other end of a client connection, fixed once authentication succeeds.
 *
 * @param sessionId  Countersign's own id for the connection, unique within the process
 * @param protocol   the wire protocol the agent speaks
 * @param agent      the authenticated agent's name
 * @param database   the database the agent asked for
 * @param client     the client's address
 * @param attributes startup parameters or connection attributes the client sent (application_name, ...)
 * @param clientText the client's address as text, formatted once per session rather than per audited statement
 */
public record SessionInfo(
        String sessionId,
        Protocol protocol,
        String agent,
        String database,
        SocketAddress client,
        Map<String, String> attributes,
        String clientText) {

    public SessionInfo {
        attributes = Map.copyOf(attributes);
    }

    public SessionInfo(String sessionId, Protocol protocol, String agent, String database, SocketAddress client,
                       Map<String, String> attributes) {
        this(sessionId, protocol, agent, database, client, attributes, client == null ? null : client.toString());
    }
}
