package io.countersign.wire.pg;

import io.countersign.wire.spi.BackendTarget;
import io.countersign.wire.spi.ProtocolError;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import java.util.Map;

/**
 * The short-lived backend session of one approved run-as statement that PostgreSQL refuses to run
 * inside a transaction block ({@code VACUUM}, {@code CREATE DATABASE}, ...), so that
 * {@code SET LOCAL ROLE} cannot be wrapped around it. It logs in with the elevated role's own
 * credentials (through the same {@link BackendHandler} as every session), sends the statement as
 * one simple Query, hands each result message to the agent's {@link RelaySession} as if its own
 * backend had sent it, and closes at the statement's ReadyForQuery: the elevation exists only on a
 * connection that ends with the statement. Its login chatter (ParameterStatus, notices) is dropped:
 * it describes a session the agent never sees.
 */
final class ElevatedSession implements BackendPeer {

    private final RelaySession session;
    private final String role;
    private final String command;
    private final String sql;
    private final BackendTarget target;
    private Channel channel;
    private boolean sent;
    private boolean done;
    private int pid;
    private int secret;

    ElevatedSession(RelaySession session, String role, String command, String sql, BackendTarget target) {
        this.session = session;
        this.role = role;
        this.command = command;
        this.sql = sql;
        this.target = target;
    }

    void start() {
        session.backendBootstrap(new BackendHandler(this)).connect(target.host(), target.port())
                .addListener((ChannelFutureListener) f -> {
                    if (!f.isSuccess()) {
                        backendFailed("cannot connect to backend " + describeBackend() + ": " + f.cause().getMessage(), null);
                    }
                });
    }

    @Override
    public BackendTarget target() {
        return target;
    }

    @Override
    public Map<String, String> startupParams() {
        return session.startupParams(); // the client's encoding, DateStyle, application_name: results read the same
    }

    @Override
    public String describeBackend() {
        return session.describeBackend() + " (login '" + target.user() + "' for run-as role \"" + role + "\")";
    }

    @Override
    public void backendChannel(Channel ch) {
        channel = ch;
        if (closed()) {
            ch.close(); // the agent's session ended while this one was connecting
        }
    }

    @Override
    public void backendKey(int pid, int secret) {
        this.pid = pid;
        this.secret = secret;
    }

    @Override
    public void forwardDuringLogin(ByteBuf buf, int index, int size) {
        // dropped: e.g. is_superuser or session_authorization of the elevated login must not reach the agent
    }

    @Override
    public void flushLogin() {
    }

    @Override
    public void backendReady(char status) {
        if (closed()) {
            close();
            return;
        }
        sent = true;
        channel.writeAndFlush(PgOut.query(channel.alloc(), sql));
    }

    @Override
    public void loginRefused(ProtocolError backendError, String message) {
        fail(backendError.sqlState(), message);
    }

    @Override
    public void backendFailed(String message, String sqlStateOverride) {
        String state = sqlStateOverride == null ? "08006" : sqlStateOverride.equals("08004") ? "28000" : sqlStateOverride;
        fail(state, message);
    }

    private void fail(String state, String reason) {
        if (closed()) {
            close();
            return;
        }
        String message = sent
                ? "the separate session running " + command + " as role \"" + role + "\" failed: " + reason
                        + "; the statement's outcome is unknown, check its effect before retrying"
                : command + " was approved to run as role \"" + role + "\"; it cannot run in a transaction block, so Countersign"
                        + " runs it on a separate backend session logged in as that role, and that login failed: " + reason
                        + ". The statement did not run; set elevated-roles." + role + " {user, password} in the Countersign config"
                        + " to a login that holds the role";
        done = true;
        close();
        session.elevatedEnded(this, new ProtocolError(state, 0, message, null));
    }

    @Override
    public void fromBackend(ByteBuf buf, int idx, int size) {
        if (closed()) {
            return;
        }
        byte type = buf.getByte(idx);
        if (type == 'S') {
            return; // a parameter of the elevated session (none is expected from these commands) is not the agent's
        }
        if (type == 'Z') {
            done = true; // its transaction status is the elevated session's; the agent gets its own session's
            close();
            session.elevatedEnded(this, null);
            return;
        }
        session.fromBackend(buf, idx, size);
    }

    @Override
    public void backendBytes(int n) {
        session.backendBytes(n);
    }

    @Override
    public void backendBatchEnd() {
        session.backendBatchEnd(); // the relayed range leaves before this read buffer is released
    }

    @Override
    public void backendReadComplete() {
        if (!session.closed()) {
            session.backendReadComplete();
        }
    }

    @Override
    public void updateClientAutoRead() {
        // the client's reading follows the agent's own backend connection
    }

    @Override
    public void backendClosed() {
        if (!closed()) {
            backendFailed("the backend " + describeBackend() + " closed the connection unexpectedly", null);
        }
    }

    @Override
    public boolean closed() {
        return done || session.closed();
    }

    /** The agent cancelled: the running statement is the elevated session's, so that is what is cancelled. */
    void cancel() {
        if (sent && !done && pid != 0) {
            session.sendBackendCancel(pid, secret);
        }
    }

    /** The agent's session ended first. */
    void abandon() {
        done = true;
        close();
    }

    private void close() {
        if (channel != null && channel.isOpen()) {
            // Terminate first, so the backend logs an orderly end rather than a lost client
            ByteBuf terminate = channel.alloc().buffer(5).writeByte('X').writeInt(4);
            channel.writeAndFlush(terminate).addListener(ChannelFutureListener.CLOSE);
        }
    }
}
