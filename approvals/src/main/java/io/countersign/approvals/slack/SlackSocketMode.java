package io.countersign.approvals.slack;

import com.slack.api.bolt.socket_mode.SocketModeApp;
import com.slack.api.socket_mode.SocketModeClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Socket Mode: Countersign opens a WebSocket to Slack with the app-level token and receives the
 * same interactions over it, for deployments without a public URL. The Bolt app and its handlers
 * are the ones the HTTP endpoint uses; Slack authenticates the socket, so no signature is checked.
 * Not tested against real Slack (the tests have no Slack to connect to).
 */
public final class SlackSocketMode implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SlackSocketMode.class);

    private final SocketModeApp socketApp;

    private SlackSocketMode(SocketModeApp socketApp) {
        this.socketApp = socketApp;
    }

    /**
     * Connects (apps.connections.open, then the WebSocket) and returns; Bolt reconnects by itself.
     * Throws when the app token is refused or Slack cannot be reached at startup.
     */
    public static SlackSocketMode start(SlackSettings settings, SlackInteractions interactions) {
        if (!settings.socketMode()) {
            throw new IllegalStateException("Socket Mode needs slack.app-token (an xapp- token with connections:write)");
        }
        try {
            SocketModeApp app = new SocketModeApp(settings.appToken(), interactions.app(), SocketModeClient.Backend.JavaWebSocket);
            app.startAsync();
            LOG.info("slack: Socket Mode connected");
            return new SlackSocketMode(app);
        } catch (Exception e) {
            throw new IllegalStateException("slack: cannot start Socket Mode (" + e.getMessage() + "); check slack.app-token"
                    + " and that Socket Mode is enabled for the app", e);
        }
    }

    @Override
    public void close() {
        try {
            socketApp.close();
        } catch (Exception e) {
            LOG.debug("slack: closing Socket Mode", e);
        }
    }
}
