"""The message catalog for labels people read: zh_CN and en. Keys are the English label in snake case."""

from __future__ import annotations

CATALOG: dict[str, dict[str, str]] = {
    "zh_CN": {
        # order states
        "draft": "草稿", "awaiting_confirmation": "待确认", "confirmed": "已确认", "charged": "已扣款",
        "sent_to_dairy": "已发送牛奶厂", "in_delivery": "配送中", "completed": "已完成", "cancelled": "已取消",
        "rejected": "客户拒绝", "expired": "已过期", "payment_failed": "扣款失败", "out_of_stock": "缺货",
        # columns and words
        "code": "订单号", "phone": "电话", "name": "姓名", "address": "地址", "zone": "配送区域", "tags": "标签",
        "balance": "余额", "status": "状态", "items": "商品", "plan": "配送计划", "total": "合计",
        "start": "开始日期", "end": "结束日期", "deliveries": "配送次数", "done": "已送", "created": "创建时间",
        "sku": "编号", "product": "商品", "price": "单价", "unit": "单位", "quantity": "库存", "reserved": "已预留",
        "available": "可用", "at": "时间", "kind": "类型", "amount": "金额", "order": "订单", "actor": "操作人",
        "note": "备注", "from": "原状态", "to": "新状态", "reason": "原因", "role": "角色", "disabled": "停用",
        "user": "用户", "opt_out": "退订营销", "notes": "备注", "attempts": "尝试次数", "error": "错误",
        "daily": "每日", "weekly": "每周", "topup": "充值", "charge": "扣款", "refund": "退款", "adjustment": "调整",
        "orders": "订单", "customers": "客户", "events": "历史", "yes": "是", "no": "否",
        "plan_text": "{freq}{n}次，{start}起",
        # complaints and campaigns (issue 8)
        "open": "待处理", "assigned": "已分派", "escalated": "已升级", "closed": "已关闭",
        "high": "高", "normal": "普通", "low": "低", "complaint": "投诉", "category": "类别", "priority": "优先级",
        "assignee": "负责人", "due": "处理期限", "overdue": "已超期", "resolution": "处理结果", "timeline": "处理记录",
        "customer": "客户", "text": "内容", "call": "来电", "campaign": "活动", "segment": "客户群", "filter": "筛选条件",
        "channel": "渠道", "window": "周期", "active": "启用", "paused": "已暂停", "contacts": "已联系",
        "converted": "已转化", "sms": "短信", "sms_then_call": "先短信后电话", "message": "短信内容",
    },
    "en": {
        "awaiting_confirmation": "awaiting confirmation", "sent_to_dairy": "sent to dairy", "in_delivery": "in delivery",
        "payment_failed": "payment failed", "out_of_stock": "out of stock", "opt_out": "opted out",
        "plan_text": "{freq}, {n} deliveries from {start}",
        "sms_then_call": "SMS, then a call", "due": "due (UTC)",
    },
}


def t(key: str, locale: str = "en") -> str:
    """The label for ``key`` in ``locale``; English (or the key itself, de-snake-cased) when missing."""
    found = CATALOG.get(locale, {}).get(key)
    if found is None:
        found = CATALOG["en"].get(key, key.replace("_", " "))
    return found
