package io.countersign.server;

import java.io.IOException;
import java.net.Socket;
import java.util.concurrent.TimeUnit;

/** Whether something listens on a local port. */
public final class Ports {

    private Ports() {}

    public static boolean listening(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Waits up to {@code seconds} for nothing to listen on {@code port}. */
    public static boolean closedWithin(int port, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (listening(port)) {
            if (System.nanoTime() > deadline) return false;
            Thread.sleep(100);
        }
        return true;
    }
}
