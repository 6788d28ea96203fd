package io.countersign.image;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Writes a POSIX tar stream (ustar headers, a PAX record when a path or link does not fit), the
 * format of image layers and of the docker-archive/OCI tarball around them. Owners are numeric
 * only, and every entry carries the same modification time so equal inputs give equal digests.
 */
final class TarWriter implements AutoCloseable {

    private static final int BLOCK = 512;

    private final OutputStream out;
    private final long mtime;

    TarWriter(OutputStream out, long mtimeEpochSeconds) {
        this.out = out;
        this.mtime = mtimeEpochSeconds;
    }

    void directory(String path, int mode, int uid, int gid) throws IOException {
        header(path.endsWith("/") ? path : path + "/", '5', mode, uid, gid, 0, "");
    }

    void symlink(String path, String target) throws IOException {
        header(path, '2', 0777, 0, 0, 0, target);
    }

    void file(String path, int mode, int uid, int gid, long size, InputStream content) throws IOException {
        header(path, '0', mode, uid, gid, size, "");
        long copied = content.transferTo(out);
        if (copied != size) {
            throw new IOException("tar entry " + path + ": expected " + size + " bytes, the source gave " + copied + " (changed while the image was built?)");
        }
        pad(size);
    }

    void file(String path, int mode, byte[] content) throws IOException {
        file(path, mode, 0, 0, content.length, new java.io.ByteArrayInputStream(content));
    }

    private void header(String path, char type, int mode, int uid, int gid, long size, String link) throws IOException {
        byte[] name = path.getBytes(StandardCharsets.UTF_8);
        byte[] linkName = link.getBytes(StandardCharsets.UTF_8);
        String ustarName = path;
        String ustarPrefix = "";
        boolean pax = linkName.length > 100 || !isAscii(path) || !isAscii(link);
        if (name.length > 100) {
            int split = splitPoint(path);
            if (split < 0) {
                pax = true;
                ustarName = path.substring(Math.max(0, path.length() - 99));
            } else {
                ustarPrefix = path.substring(0, split);
                ustarName = path.substring(split + 1);
            }
        }
        if (pax) {
            byte[] records = (paxRecord("path", path) + (link.isEmpty() ? "" : paxRecord("linkpath", link))).getBytes(StandardCharsets.UTF_8);
            String tail = ascii(ustarName);
            writeHeader("PaxHeaders/" + tail.substring(Math.max(0, tail.length() - 88)), "", 'x', 0644, 0, 0, records.length, "");
            out.write(records);
            pad(records.length);
        }
        writeHeader(ascii(ustarName), ascii(ustarPrefix), type, mode, uid, gid, size, ascii(link.length() > 100 ? link.substring(0, 100) : link));
    }

    /** Where a long path can be cut into ustar's prefix (at most 155 bytes) and name (at most 100). */
    private static int splitPoint(String path) {
        if (!isAscii(path)) {
            return -1;
        }
        for (int i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) {
            if (i <= 155 && path.length() - i - 1 <= 100 && path.length() - i - 1 > 0) {
                return i;
            }
        }
        return -1;
    }

    /** A PAX record is "LEN key=value\n" where LEN counts itself. */
    static String paxRecord(String key, String value) {
        int body = (" " + key + "=" + value + "\n").getBytes(StandardCharsets.UTF_8).length;
        int len = body + Integer.toString(body).length();
        if (Integer.toString(len).length() != Integer.toString(body).length()) {
            len++;
        }
        return len + " " + key + "=" + value + "\n";
    }

    private void writeHeader(String name, String prefix, char type, int mode, int uid, int gid, long size, String link) throws IOException {
        byte[] h = new byte[BLOCK];
        put(h, 0, 100, name);
        octal(h, 100, 8, mode);
        octal(h, 108, 8, uid);
        octal(h, 116, 8, gid);
        octal(h, 124, 12, size);
        octal(h, 136, 12, mtime);
        Arrays.fill(h, 148, 156, (byte) ' ');
        h[156] = (byte) type;
        put(h, 157, 100, link);
        put(h, 257, 6, "ustar");
        put(h, 263, 2, "00");
        octal(h, 329, 8, 0);
        octal(h, 337, 8, 0);
        put(h, 345, 155, prefix);
        long sum = 0;
        for (byte b : h) {
            sum += b & 0xff;
        }
        String chk = String.format("%06o", sum);
        put(h, 148, 6, chk);
        h[154] = 0;
        h[155] = ' ';
        out.write(h);
    }

    private static void put(byte[] h, int at, int len, String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        if (b.length > len) {
            throw new IllegalArgumentException("tar header field of " + len + " bytes cannot hold '" + s + "'");
        }
        System.arraycopy(b, 0, h, at, b.length);
    }

    private static void octal(byte[] h, int at, int len, long value) {
        String s = Long.toOctalString(value);
        if (s.length() > len - 1) {
            throw new IllegalArgumentException("tar header value " + value + " does not fit " + (len - 1) + " octal digits");
        }
        put(h, at, len - 1, "0".repeat(len - 1 - s.length()) + s);
    }

    private void pad(long size) throws IOException {
        int rest = (int) (size % BLOCK);
        if (rest != 0) {
            out.write(new byte[BLOCK - rest]);
        }
    }

    private static boolean isAscii(String s) {
        return s.chars().allMatch(c -> c >= 0x20 && c < 0x7f);
    }

    private static String ascii(String s) {
        return isAscii(s) ? s : s.replaceAll("[^\\x20-\\x7e]", "_");
    }

    /** Two zero blocks end the archive. */
    @Override
    public void close() throws IOException {
        out.write(new byte[2 * BLOCK]);
        out.flush();
        out.close();
    }
}
