"""Messagerie: secure exchanges between professionals and their caisse (threads, replies,
attachments, payment complaints and penalty claims whose outcome can pay an adjustment)."""
