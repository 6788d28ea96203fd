package io.countersign.server.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.lang.reflect.RecordComponent;

/** The YAML key of a record component: its {@code @JsonProperty} name, else the component name. */
final class ConfigNames {

    private ConfigNames() {}

    static String keyOf(RecordComponent rc) {
        JsonProperty p = rc.getAnnotation(JsonProperty.class);
        if (p == null && rc.getAccessor() != null) {
            p = rc.getAccessor().getAnnotation(JsonProperty.class);
        }
        return p != null && !p.value().isEmpty() ? p.value() : rc.getName();
    }
}
