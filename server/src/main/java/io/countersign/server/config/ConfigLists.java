package io.countersign.server.config;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Immutable copies that keep null entries, so validation can point at an empty list item. */
final class ConfigLists {

    private ConfigLists() {}

    static <T> List<T> copy(List<T> list) {
        return list == null ? List.of() : Collections.unmodifiableList(new ArrayList<>(list));
    }
}
