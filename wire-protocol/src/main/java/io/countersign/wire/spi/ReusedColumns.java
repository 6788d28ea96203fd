package io.countersign.wire.spi;

import java.util.AbstractList;
import java.util.List;
import java.util.RandomAccess;

/**
 * Result columns a session hands to {@link ResultObserver#onColumns} again and again, as the same
 * instance, while the backend keeps describing a result the same way (every execution of one
 * prepared statement, typically). An observer may keep what it derives from the columns here, under
 * a key of its own, together with whatever else the derived value depends on, and reuse it on the
 * next execution instead of deriving it again per statement.
 *
 * <p>Immutable as a list. The memo slots belong to the session that owns the instance and are used
 * on its event loop only: not thread-safe.
 */
public final class ReusedColumns extends AbstractList<ResultColumn> implements RandomAccess {

    private static final Object[] NONE = new Object[0];

    private final ResultColumn[] columns;
    /** Key, value, key, value... keys compared by identity; a handful at most (one per observer kind). */
    private Object[] memo = NONE;

    public ReusedColumns(List<ResultColumn> columns) {
        this.columns = columns.toArray(new ResultColumn[0]);
        for (ResultColumn c : this.columns) {
            if (c == null) {
                throw new NullPointerException("a result column is null");
            }
        }
    }

    @Override
    public ResultColumn get(int index) {
        return columns[index];
    }

    @Override
    public int size() {
        return columns.length;
    }

    /** What an observer kept under {@code key}, or {@code null}. */
    public Object memo(Object key) {
        Object[] m = memo;
        for (int i = 0; i < m.length; i += 2) {
            if (m[i] == key) {
                return m[i + 1];
            }
        }
        return null;
    }

    /** Keeps {@code value} under {@code key}, replacing what was there. */
    public void memo(Object key, Object value) {
        Object[] m = memo;
        for (int i = 0; i < m.length; i += 2) {
            if (m[i] == key) {
                m[i + 1] = value;
                return;
            }
        }
        Object[] grown = java.util.Arrays.copyOf(m, m.length + 2);
        grown[m.length] = key;
        grown[m.length + 1] = value;
        memo = grown;
    }
}
