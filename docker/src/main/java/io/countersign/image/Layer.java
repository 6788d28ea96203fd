package io.countersign.image;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * One image layer: a set of paths in the container's file system, written as an uncompressed tar
 * in path order (so its digest depends only on its contents). Parent directories are added as
 * root-owned 0755 unless given explicitly.
 */
final class Layer {

    sealed interface Entry {}

    record Dir(int mode, int uid, int gid) implements Entry {}

    record HostFile(Path source, int mode) implements Entry {}

    record Bytes(byte[] content, int mode) implements Entry {}

    record Symlink(String target) implements Entry {}

    /** A written layer: the tar file, its sha256 (which is also its diff id: it is not compressed) and size. */
    record Blob(String description, Path file, String digest, long size) {}

    private final String description;
    private final TreeMap<String, Entry> entries = new TreeMap<>();

    Layer(String description) {
        this.description = description;
    }

    Layer dir(String path, int mode, int uid, int gid) {
        put(path, new Dir(mode, uid, gid));
        return this;
    }

    Layer file(String path, Path source, int mode) {
        put(path, new HostFile(source, mode));
        return this;
    }

    Layer bytes(String path, byte[] content, int mode) {
        put(path, new Bytes(content, mode));
        return this;
    }

    /** Copies a host directory tree under {@code containerDir}, keeping symlinks and executable bits. */
    Layer tree(Path hostDir, String containerDir) throws IOException {
        try (Stream<Path> walk = Files.walk(hostDir)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                String rel = hostDir.relativize(p).toString();
                String at = rel.isEmpty() ? containerDir : containerDir + "/" + rel;
                if (Files.isSymbolicLink(p)) {
                    put(at, new Symlink(Files.readSymbolicLink(p).toString()));
                } else if (Files.isDirectory(p)) {
                    put(at, new Dir(0755, 0, 0));
                } else {
                    put(at, new HostFile(p, executable(p) ? 0755 : 0644));
                }
            }
        }
        return this;
    }

    Map<String, Entry> entries() {
        return entries;
    }

    private void put(String path, Entry entry) {
        String clean = normalise(path);
        for (int i = clean.indexOf('/'); i > 0; i = clean.indexOf('/', i + 1)) {
            entries.putIfAbsent(clean.substring(0, i), new Dir(0755, 0, 0));
        }
        Entry old = entries.put(clean, entry);
        if (old != null && !(old instanceof Dir && entry instanceof Dir)) {
            throw new IllegalStateException("layer '" + description + "': /" + clean + " is added twice");
        }
    }

    private static String normalise(String path) {
        String p = path.startsWith("/") ? path.substring(1) : path;
        if (p.isEmpty() || p.contains("//") || p.endsWith("/") || p.startsWith("../") || p.contains("/../")) {
            throw new IllegalArgumentException("not a clean absolute container path: " + path);
        }
        return p;
    }

    private static boolean executable(Path p) throws IOException {
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS);
        return perms.contains(PosixFilePermission.OWNER_EXECUTE);
    }

    /** Writes the layer tar into {@code dir} and returns it with its digest. */
    Blob write(Path dir, long mtime) throws IOException {
        Path file = Files.createTempFile(dir, "layer-", ".tar");
        MessageDigest sha = sha256();
        // the tar writer closes the stream chain; the counter sees every byte that reaches the file
        CountingOutputStream counted = new CountingOutputStream(new BufferedOutputStream(Files.newOutputStream(file), 1 << 16));
        try (TarWriter tar = new TarWriter(new DigestOutputStream(counted, sha), mtime)) {
            for (Map.Entry<String, Entry> e : entries.entrySet()) {
                String path = e.getKey();
                switch (e.getValue()) {
                    case Dir d -> tar.directory(path, d.mode(), d.uid(), d.gid());
                    case Symlink s -> tar.symlink(path, s.target());
                    case Bytes b -> tar.file(path, b.mode(), b.content());
                    case HostFile f -> {
                        try (InputStream in = Files.newInputStream(f.source())) {
                            tar.file(path, f.mode(), 0, 0, Files.size(f.source()), in);
                        }
                    }
                }
            }
        }
        long size = counted.count();
        return new Blob(description, file, "sha256:" + HexFormat.of().formatHex(sha.digest()), size);
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JDK has no SHA-256", e);
        }
    }

    /** Counts the bytes that reach the file (the tar's size in the manifests). */
    private static final class CountingOutputStream extends java.io.FilterOutputStream {
        private long count;

        CountingOutputStream(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }

        long count() {
            return count;
        }
    }
}
