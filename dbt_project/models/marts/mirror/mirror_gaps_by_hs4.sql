{{ mirror_rollup(['year', 'flow', 'partner_iso3', 'hs4']) }}
