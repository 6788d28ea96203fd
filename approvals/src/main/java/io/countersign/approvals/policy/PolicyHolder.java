package io.countersign.approvals.policy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The policy in force, read from a file and swapped atomically when the file's content changes.
 * Readers call {@link #current()} per statement and never see a half-loaded policy; statements
 * already decided (and connections) are untouched by a reload. A file that fails to parse is
 * reported and the previous policy stays in force: fail closed, lose nothing.
 *
 * <p>Polls the file's content hash rather than using a WatchService: editors replace files by
 * rename, config maps swap symlinks, and polling sees all of those the same way.
 */
public final class PolicyHolder implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PolicyHolder.class);

    private final Path file;
    private final Clock clock;
    private final List<Consumer<PolicyReloadEvent>> listeners = new CopyOnWriteArrayList<>();
    private final ScheduledExecutorService poller;
    private volatile PolicyEngine current;
    private volatile String lastSeenSha;
    /** A bad version seen once: an editor may still be writing it, so it is reported only if it stays. */
    private String unsettledBadSha;

    private PolicyHolder(Path file, Duration pollInterval, Clock clock) {
        this.file = file;
        this.clock = clock;
        this.current = PolicyEngine.load(file);
        this.lastSeenSha = current.sha256();
        this.poller = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "policy-watch " + file.getFileName());
            t.setDaemon(true);
            return t;
        });
        long ms = pollInterval.toMillis();
        poller.scheduleWithFixedDelay(this::checkNow, ms, ms, TimeUnit.MILLISECONDS);
    }

    /** Loads {@code file} (failing at once if it is unusable) and watches it every {@code pollInterval}. */
    public static PolicyHolder watch(Path file, Duration pollInterval) {
        return new PolicyHolder(file, pollInterval, Clock.systemUTC());
    }

    public PolicyEngine current() {
        return current;
    }

    public Path file() {
        return file;
    }

    public void addListener(Consumer<PolicyReloadEvent> listener) {
        listeners.add(Objects.requireNonNull(listener));
    }

    /**
     * Reads the file now and swaps the policy if its content changed; returns the event, if any. A
     * file that does not parse is reported on the second look at the same content, so a half-written
     * file during an in-place save is not reported as an error.
     */
    public synchronized PolicyReloadEvent checkNow() {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            // A file briefly missing during an editor's rename is normal; report only a persistent change.
            String sha = "unreadable:" + e.getClass().getSimpleName();
            if (sha.equals(lastSeenSha)) {
                return null;
            }
            if (!sha.equals(unsettledBadSha)) {
                unsettledBadSha = sha;
                return null;
            }
            lastSeenSha = sha;
            return publish(new PolicyReloadEvent.Rejected(file, clock.instant(), current.sha256(),
                    "policy " + file + ": cannot be read (" + e + "); keeping the previous policy"));
        }
        String sha = PolicyEngine.sha256(text);
        if (sha.equals(lastSeenSha)) {
            return null;
        }
        PolicyEngine next;
        try {
            next = PolicyEngine.parse(text, file.toString());
        } catch (PolicyException e) {
            if (!sha.equals(unsettledBadSha)) {
                unsettledBadSha = sha;
                return null;
            }
            lastSeenSha = sha;
            return publish(new PolicyReloadEvent.Rejected(file, clock.instant(), current.sha256(),
                    e.getMessage() + "; keeping the previous policy (sha256 " + current.sha256() + ")"));
        }
        lastSeenSha = sha;
        unsettledBadSha = null;
        if (sha.equals(current.sha256())) {
            return null;   // back to the policy in force after a bad or missing version: nothing changed
        }
        String previous = current.sha256();
        current = next;
        return publish(new PolicyReloadEvent.Reloaded(file, clock.instant(), previous, next.sha256(), next.rules().size()));
    }

    private PolicyReloadEvent publish(PolicyReloadEvent event) {
        switch (event) {
            case PolicyReloadEvent.Reloaded r -> LOG.info("policy {} reloaded: sha256 {} ({} rules)", file, r.sha256(), r.rules());
            case PolicyReloadEvent.Rejected r -> LOG.warn("{}", r.error());
        }
        for (Consumer<PolicyReloadEvent> l : listeners) {
            try {
                l.accept(event);
            } catch (RuntimeException e) {
                LOG.warn("policy reload listener failed", e);
            }
        }
        return event;
    }

    @Override
    public void close() {
        poller.shutdownNow();
    }
}
