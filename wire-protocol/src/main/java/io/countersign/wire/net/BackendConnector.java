package io.countersign.wire.net;

import io.countersign.wire.spi.BackendTarget;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * Opens a session's backend connection the way its {@link BackendTarget} says: TCP to
 * {@code host:port}, or the backend's Unix domain socket when Countersign runs beside the database.
 * A socket skips the loopback TCP stack on the backend hop: 8-15 % less of the relay's CPU per
 * statement on two shared cores (bench/RESULTS-mysql-cpu.md, 2026-12-07).
 */
public final class BackendConnector {

    private BackendConnector() {}

    /** Whether Unix domain socket backends work here: they need Netty's native epoll transport (Linux). */
    public static boolean unixSocketsAvailable() {
        return Epoll.isAvailable();
    }

    /** Why {@link #unixSocketsAvailable()} is false, for an error message that names the fix. */
    public static String whyNoUnixSockets() {
        Throwable cause = Epoll.unavailabilityCause();
        return "a Unix socket backend needs Netty's native epoll transport (Linux x86_64 or aarch64), which is unavailable here ("
                + (cause == null ? "unknown reason" : cause.getMessage()) + "); reach the backend over TCP with host and port instead";
    }

    /**
     * Sets {@code bootstrap}'s channel type and transport options for {@code target} and returns the
     * address to connect to. {@code tcpChannel} is the listener's TCP channel type. The bootstrap's
     * event loop must be an epoll one for a socket target (the listeners use epoll wherever it exists).
     */
    public static SocketAddress prepare(Bootstrap bootstrap, BackendTarget target, Class<? extends Channel> tcpChannel) {
        if (!target.viaSocket()) {
            bootstrap.channel(tcpChannel).option(ChannelOption.TCP_NODELAY, true);
            return InetSocketAddress.createUnresolved(target.host(), target.port());
        }
        if (!unixSocketsAvailable()) {
            throw new IllegalStateException("backend '" + target.name() + "' is configured at " + target.where() + ", but "
                    + whyNoUnixSockets());
        }
        // no TCP_NODELAY: a stream socket on one machine has no Nagle delay to turn off
        bootstrap.channel(EpollDomainSocketChannel.class);
        return new DomainSocketAddress(target.socket());
    }
}
