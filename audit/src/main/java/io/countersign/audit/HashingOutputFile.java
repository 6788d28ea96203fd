package io.countersign.audit;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import org.apache.parquet.io.OutputFile;
import org.apache.parquet.io.PositionOutputStream;

/**
 * A local file for parquet-java's file writer (as its {@code LocalOutputFile}) that hashes every byte on its
 * way out, so the manifest's SHA-256 of a committed file needs no second read of it. The Parquet writer
 * only appends, so the digest is of exactly the file's bytes.
 */
final class HashingOutputFile implements OutputFile {
    private final Path path;
    private final MessageDigest sha256 = Hashes.sha256();
    private boolean closed;

    HashingOutputFile(Path path) {
        this.path = path;
    }

    /** Lower-case hex SHA-256 of the whole file; only once the stream is closed. */
    String sha256Hex() {
        if (!closed) {
            throw new IllegalStateException(path + " is still being written");
        }
        return Hashes.hex(sha256.digest());
    }

    @Override
    public PositionOutputStream create(long blockSizeHint) throws IOException {
        return new Stream(Files.newOutputStream(path, StandardOpenOption.CREATE_NEW));
    }

    @Override
    public PositionOutputStream createOrOverwrite(long blockSizeHint) throws IOException {
        return new Stream(Files.newOutputStream(path, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING));
    }

    @Override
    public boolean supportsBlockSize() {
        return false;
    }

    @Override
    public long defaultBlockSize() {
        return -1;
    }

    @Override
    public String getPath() {
        return path.toString();
    }

    private final class Stream extends PositionOutputStream {
        private final OutputStream out;
        private long pos;

        Stream(OutputStream file) {
            this.out = new BufferedOutputStream(file, 4096); // LocalOutputFile's buffer
        }

        @Override
        public long getPos() {
            return pos;
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            sha256.update((byte) b);
            pos++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            sha256.update(b, off, len);
            pos += len;
        }

        @Override
        public void flush() throws IOException {
            out.flush();
        }

        @Override
        public void close() throws IOException {
            try (out) {
                out.flush();
            }
            closed = true;
        }
    }
}
