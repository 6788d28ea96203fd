package io.countersign.analysis;

/**
 * One category a statement falls into, with the reason a reviewer reads.
 *
 * @param category the category
 * @param reason   names the table, column or function, e.g. "reads sensitive column public.customers.email"
 */
public record Finding(Category category, String reason) {}
