package io.countersign.wire.pg;

import io.countersign.wire.spi.BackendTarget;
import io.countersign.wire.spi.ProtocolError;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import java.util.Map;

/**
 * What a {@link BackendHandler} logs in for and relays to: an agent's session ({@link RelaySession}),
 * or the short-lived elevated session of one run-as statement ({@link ElevatedSession}). One login
 * implementation (TLS, SCRAM, MD5, cleartext) serves both. All calls arrive on the channel's event loop.
 */
interface BackendPeer {

    BackendTarget target();

    Map<String, String> startupParams();

    String describeBackend();

    void backendChannel(Channel ch);

    void backendKey(int pid, int secret);

    /** ParameterStatus and notices sent during login. */
    void forwardDuringLogin(ByteBuf buf, int index, int size);

    void flushLogin();

    void backendReady(char status);

    void backendFailed(String message, String sqlStateOverride);

    /** The backend answered the login with an error: by default a connection failure naming {@code message}. */
    default void loginRefused(ProtocolError backendError, String message) {
        String state = backendError.sqlState();
        backendFailed(message, state.startsWith("28") || state.equals("3D000") ? "08004" : null);
    }

    void fromBackend(ByteBuf buf, int idx, int size);

    void backendBytes(int n);

    void backendBatchEnd();

    void backendReadComplete();

    void updateClientAutoRead();

    void backendClosed();

    boolean closed();
}
