package io.countersign.wire.pg;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Countersign's own BackendKeyData per session: clients get our key, never the backend's, and a
 * CancelRequest carrying our key finds the session that can cancel on the backend.
 */
final class CancelRegistry {

    private final ConcurrentHashMap<Long, RelaySession> sessions = new ConcurrentHashMap<>();
    private final AtomicInteger nextPid = new AtomicInteger(1 + Scram.RANDOM.nextInt(1 << 20));

    record Key(int pid, int secret) {
        long packed() {
            return ((long) pid << 32) | (secret & 0xFFFFFFFFL);
        }
    }

    Key register(RelaySession session) {
        while (true) {
            Key key = new Key(nextPid.getAndIncrement() & 0x7FFFFFFF, Scram.RANDOM.nextInt());
            if (sessions.putIfAbsent(key.packed(), session) == null) {
                return key;
            }
        }
    }

    void unregister(Key key) {
        if (key != null) {
            sessions.remove(key.packed());
        }
    }

    RelaySession find(int pid, int secret) {
        return sessions.get(new Key(pid, secret).packed());
    }
}
