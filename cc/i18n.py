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
        # agent console (issue 6)
        "console_title": "坐席工作台", "password": "密码", "sign_in": "登录", "signed_in": "已登录",
        "help_key": "帮助", "quit_key": "退出", "close_key": "关闭", "save_key": "保存", "hint": "提示",
        "search": "查找", "search_hint": "电话、姓名或订单号", "nothing_found": "没有找到", "history": "订单历史",
        "call_controls": "通话控制", "target_hint": "目标：队列、坐席、expert 或电话号码",
        "ctl_hangup": "挂断", "ctl_hold": "静音（保持）", "ctl_unhold": "取消静音", "ctl_transfer": "盲转",
        "ctl_attended_transfer": "咨询转接", "ctl_conference": "三方通话", "ctl_consult": "请教专家",
        "ctl_pickup": "代接同事来电", "ctl_dial": "拨打",
        "help_title": "按键说明", "help_text": "来电时自动弹出客户资料；未知号码会打开新客户表单。\n下单：选择商品、数量，ctrl+n 加入，ctrl+s 提交。",
        "ready_key": "就绪", "pause_key": "暂停", "away_key": "离开", "done_key": "整理完毕", "search_key": "查找",
        "complaint_key": "投诉", "calls_key": "通话", "wrap_up_key": "小结", "sign_out_key": "签退",
        "submit_key": "提交订单", "amend_key": "修改订单", "cancel_order_key": "取消订单", "undo_key": "撤销",
        "add_line_key": "加入商品", "bad_complaint_number": "投诉编号不对", "hint_complaint_number": "写客户资料里未结投诉的编号，如 12",
        "card_key": "客户资料", "order_key": "下单", "history_key": "订单历史", "theme_key": "明暗切换",
        "no_call": "当前没有来电", "no_customer": "还没有客户", "qty": "数量",
        "state_ready": "就绪", "state_paused": "暂停", "state_away": "离开", "state_wrap_up": "话后整理",
        "state_ringing": "振铃", "state_on_call": "通话中", "state_offline": "离线",
        "break": "休息", "lunch": "午餐", "meeting": "开会", "training": "培训", "toilet": "洗手间", "other": "其他",
        "no answer": "未接听", "queue": "排队", "service": "业务", "waited": "已等待",
        "call_ringing": "来电振铃", "call_connected": "通话中", "unknown_caller": "未知来电，请登记新客户",
        "blacklisted": "黑名单", "active_orders": "进行中的订单", "complaints_open": "未结投诉",
        "recent_calls": "最近来电", "recent_sms": "最近短信", "customer_added": "已登记新客户", "new_customer": "新客户",
        "now_ready": "已就绪", "now_away": "已离开", "now_pause": "已暂停", "pause_reason": "暂停原因",
        "wrapped_up": "已保存小结", "wrap_up_code": "通话小结", "enquiry": "咨询", "no_sale": "未成交",
        "wrong_number": "打错电话", "hint_pick_customer": "先接听来电或用 F6 查找客户",
        "add_to_complaint": "补充到已有投诉（编号，可空）", "complaint_opened": "已登记投诉",
        "pick_product": "请选择商品", "hint_pick_product": "在商品列表中选择后再按 ctrl+n",
        "nothing_to_undo": "没有可撤销的操作", "undone": "已撤销", "bad_plan": "配送计划无效",
        "hint_plan": "开始日期写成 2026-11-27，配送次数为整数", "balance_short": "余额不足",
        "order_submitted": "订单已提交", "order_amended": "订单已修改", "order_cancelled": "订单已取消",
        "step_submitted": "已提交", "step_sms_sent": "短信已发", "step_sms_delivered": "短信已达",
        "step_replied": "客户已回复", "step_charged": "已扣款", "step_sent_to_dairy": "已发牛奶厂", "editable": "可修改",
    },
    "en": {
        "awaiting_confirmation": "awaiting confirmation", "sent_to_dairy": "sent to dairy", "in_delivery": "in delivery",
        "payment_failed": "payment failed", "out_of_stock": "out of stock", "opt_out": "opted out",
        "plan_text": "{freq}, {n} deliveries from {start}",
        "sms_then_call": "SMS, then a call", "due": "due (UTC)",
        # agent console (issue 6)
        "console_title": "Agent console", "help_key": "help", "quit_key": "quit", "close_key": "close",
        "save_key": "save", "search_hint": "phone, name or order code", "history": "order history",
        "target_hint": "target: queue, agent, expert or a phone number", "ctl_hangup": "hang up",
        "ctl_hold": "mute (hold)", "ctl_unhold": "unmute", "ctl_transfer": "blind transfer",
        "ctl_attended_transfer": "attended transfer", "ctl_conference": "three-way conference",
        "ctl_consult": "ask an expert", "ctl_pickup": "pick up a colleague's call", "ctl_dial": "dial",
        "help_title": "Keys", "help_text": "A call pops the customer's card; an unknown number opens the new-customer form.\nOrders: pick a product and a quantity, ctrl+n adds it, ctrl+s submits.",
        "ready_key": "ready", "pause_key": "pause", "away_key": "away", "done_key": "I'm done", "search_key": "search",
        "complaint_key": "complaint", "calls_key": "call", "wrap_up_key": "wrap-up", "sign_out_key": "sign out",
        "submit_key": "submit", "amend_key": "amend", "cancel_order_key": "cancel order", "undo_key": "undo",
        "add_line_key": "add item", "bad_complaint_number": "that is not a complaint number",
        "hint_complaint_number": "give the number of one of the open complaints on the card, e.g. 12",
        "card_key": "customer card", "order_key": "order form",
        "state_ready": "ready", "state_paused": "paused", "state_away": "away", "state_ringing": "ringing",
        "state_offline": "offline", "history_key": "history", "theme_key": "light/dark",
        "no_call": "No call", "no_customer": "No customer yet", "state_wrap_up": "wrap-up", "state_on_call": "on a call",
        "call_ringing": "Ringing:", "call_connected": "On the line:", "unknown_caller": "Unknown caller: register them",
        "blacklisted": "blacklisted", "complaints_open": "open complaints", "customer_added": "customer added",
        "now_ready": "ready", "now_away": "away", "now_pause": "paused", "wrap_up_code": "Wrap-up code",
        "wrapped_up": "wrap-up saved", "no_sale": "no sale", "hint_pick_customer": "answer a call or find a customer with F6",
        "add_to_complaint": "add to open complaint # (optional)", "pick_product": "pick a product first",
        "hint_pick_product": "choose from the product list, then ctrl+n", "bad_plan": "the delivery plan is not valid",
        "hint_plan": "write the start date as 2026-11-27 and the deliveries as a whole number",
        "balance_short": "balance too low", "step_sms_sent": "SMS sent", "step_sms_delivered": "SMS delivered",
        "step_replied": "customer replied", "step_sent_to_dairy": "sent to dairy", "qty": "qty",
    },
}


def t(key: str, locale: str = "en") -> str:
    """The label for ``key`` in ``locale``; English (or the key itself, de-snake-cased) when missing."""
    found = CATALOG.get(locale, {}).get(key)
    if found is None:
        found = CATALOG["en"].get(key, key.replace("_", " "))
    return found


# QA of recorded calls (issue 7)
CATALOG["zh_CN"].update({
    "qa_title": "通话质检", "qa_criterion": "评分项", "qa_label": "说明", "qa_weight": "权重", "qa_points": "分值",
    "qa_yesno": "是/否", "qa_agent": "坐席", "qa_queue": "队列", "qa_duration": "时长(秒)", "qa_survey": "客户评分",
    "qa_score": "质检得分", "qa_scored_by": "评分人", "qa_period": "期间", "qa_scored": "已评通话",
    "qa_average": "质检平均", "qa_surveys": "满意度回访", "qa_survey_average": "满意度平均",
    "qa_play_key": "播放到我的话机", "qa_score_key": "评分", "qa_save_key": "保存评分", "qa_refresh_key": "刷新",
    "qa_unscored_key": "只看未评", "qa_back_key": "返回", "qa_total": "加权总分", "qa_comment": "评语（可空）",
    "qa_saved": "评分已保存", "qa_playing": "您的话机将振铃并播放录音", "qa_pick_call": "请先选择一通录音",
    "qa_hint_pick_call": "用方向键在列表中选中一通电话", "qa_no_calls": "没有待质检的录音",
    "qa_form_title": "质检评分", "qa_yes_no_hint": "是 / 否",
})
CATALOG["en"].update({
    "qa_title": "Call QA", "qa_criterion": "criterion", "qa_label": "label", "qa_weight": "weight", "qa_points": "points",
    "qa_yesno": "yes/no", "qa_agent": "agent", "qa_queue": "queue", "qa_duration": "seconds", "qa_survey": "survey",
    "qa_score": "QA score", "qa_scored_by": "scored by", "qa_period": "period", "qa_scored": "scored",
    "qa_average": "QA average", "qa_surveys": "surveys", "qa_survey_average": "survey average",
    "qa_play_key": "play to my phone", "qa_score_key": "score", "qa_save_key": "save score", "qa_refresh_key": "refresh",
    "qa_unscored_key": "unscored only", "qa_back_key": "back", "qa_total": "weighted total", "qa_comment": "comment (optional)",
    "qa_saved": "score saved", "qa_playing": "your phone rings and plays the recording", "qa_pick_call": "select a recorded call first",
    "qa_hint_pick_call": "pick one in the list with the arrow keys", "qa_no_calls": "no recorded calls to review",
    "qa_form_title": "Score the call", "qa_yes_no_hint": "yes / no",
})
